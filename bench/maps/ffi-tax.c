// ffi-tax N: C's side of bench/maps/ffi-tax.mjs. N calls each of syscall(SYS_getpid),
// syscall(SYS_bpf) with an unknown command and a 32-byte attr (EINVAL) and bpf_map_lookup_elem on a
// 1,024-key hash; prints JSON {"getpid", "badbpf", "lookup"} in ns per call.
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
int main(int argc,char**argv){long n=argc>1?atol(argv[1]):1000000;
 double t0=now(); for(long i=0;i<n;i++) syscall(SYS_getpid); double t1=now();
 /* The same 32-byte zeroed attr the JavaScript side passes: the kernel copies and checks it before it refuses the command. */
 static char attr[32]; for(long i=0;i<n;i++) syscall(SYS_bpf, 9999, attr, sizeof attr); double t2=now();
 int fd=bpf_map_create(BPF_MAP_TYPE_HASH,"t",4,8,1024,NULL); __u64 v=0;
 for(__u32 k=0;k<1024;k++) bpf_map_update_elem(fd,&k,&v,0);
 double t3=now(); volatile __u64 s=0; for(long i=0;i<n;i++){__u32 k=i&1023; if(!bpf_map_lookup_elem(fd,&k,&v)) s+=v;} double t4=now();
 printf("{\"getpid\":%.1f,\"badbpf\":%.1f,\"lookup\":%.1f}\n",(t1-t0)/n,(t2-t1)/n,(t4-t3)/n);}
