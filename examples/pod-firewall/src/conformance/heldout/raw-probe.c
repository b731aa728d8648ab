/*
 * raw-probe: the raw-socket half of a pod agent's probes, for what Node
 * cannot do (it has no raw sockets). It runs inside a pod's network
 * namespace as a child of the agent and speaks lines on stdin/stdout:
 *
 *   send PROTO SRC DST SPORT DPORT TOKEN [DECOY]  ->  sent TOKEN | error TOKEN WHY
 *     one packet built by hand (IP header included), so SRC may be any
 *     address: a TCP SYN (sequence number = TOKEN), a UDP datagram (8 bytes:
 *     "tsbp" and TOKEN) or an SCTP INIT (initiate tag = TOKEN). With a DECOY
 *     port (1-65535), the IP header carries one 4-byte option (an
 *     experimental type, RFC 4727, which routers pass on) whose last two
 *     bytes are DECOY: a reader that takes the header as 20 bytes long finds
 *     DECOY where the destination port should be;
 *   sniff PROTO                           ->  sniffing PROTO | error 0 WHY
 *     from then on, every such packet that reaches this namespace's IP
 *     stack is reported as
 *   seen PROTO SRC DST SPORT DPORT TOKEN
 *
 * PROTO is tcp, udp or sctp. Raw sockets of any protocol work without the
 * kernel supporting it, so SCTP packets can be sent and seen on a kernel
 * without SCTP. It exits when stdin closes (its agent is gone).
 *
 *   cc -O2 -o build/c/pod-raw-probe raw-probe.c   (scripts/build-c-helpers)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROTO_SCTP 132
#define UDP_MAGIC 0x74736270u /* "tsbp" */
#define IPOPT_EXPERIMENT 30    /* RFC 4727: not copied, class 0, number 30 */

struct proto {
  const char *name;
  int number;
  int sniff_fd; /* -1 until `sniff` */
};

static struct proto protos[] = {{"tcp", IPPROTO_TCP, -1}, {"udp", IPPROTO_UDP, -1}, {"sctp", PROTO_SCTP, -1}};
#define NPROTOS (sizeof protos / sizeof protos[0])

static struct proto *proto_by_name(const char *name) {
  for (size_t i = 0; i < NPROTOS; i++)
    if (strcmp(protos[i].name, name) == 0) return &protos[i];
  return NULL;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8, p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16), put16(p + 2, v & 0xffff); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

/* The Internet checksum of the IPv4 pseudo header and an L4 segment (TCP, UDP). */
static uint16_t l4_checksum(uint32_t src, uint32_t dst, int proto, const uint8_t *seg, size_t len) {
  uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + (uint32_t)proto + (uint32_t)len;
  for (size_t i = 0; i + 1 < len; i += 2) sum += get16(seg + i);
  if (len & 1) sum += (uint32_t)seg[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

/* CRC32c (Castagnoli, reflected 0x82F63B78), as SCTP's checksum (RFC 9260 appendix A). */
static uint32_t crc32c(const uint8_t *p, size_t len) {
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < len; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++) crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
  }
  return ~crc;
}

/* Builds the L4 part of a probe packet into seg; returns its length. Addresses in host order. */
static size_t build_segment(int proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t token, uint8_t *seg) {
  if (proto == IPPROTO_TCP) {
    memset(seg, 0, 20);
    put16(seg, sport), put16(seg + 2, dport), put32(seg + 4, token);
    seg[12] = 5 << 4; /* data offset: 5 words, no options */
    seg[13] = 0x02;   /* SYN */
    put16(seg + 14, 64240);
    put16(seg + 16, l4_checksum(src, dst, proto, seg, 20));
    return 20;
  }
  if (proto == IPPROTO_UDP) {
    put16(seg, sport), put16(seg + 2, dport), put16(seg + 4, 16), put16(seg + 6, 0);
    put32(seg + 8, UDP_MAGIC), put32(seg + 12, token);
    uint16_t sum = l4_checksum(src, dst, proto, seg, 16);
    put16(seg + 6, sum == 0 ? 0xffff : sum); /* 0 would mean "no checksum" */
    return 16;
  }
  /* SCTP: common header, then one INIT chunk (RFC 9260 3.3.2). */
  memset(seg, 0, 32);
  put16(seg, sport), put16(seg + 2, dport); /* verification tag 0: INIT */
  seg[12] = 1;                              /* chunk type INIT, flags 0 */
  put16(seg + 14, 20);                      /* chunk length */
  put32(seg + 16, token);                   /* initiate tag */
  put32(seg + 20, 65536);                   /* a_rwnd */
  put16(seg + 24, 1), put16(seg + 26, 1);   /* outbound and inbound streams */
  put32(seg + 28, token);                   /* initial TSN */
  uint32_t crc = crc32c(seg, 32);
  seg[8] = crc & 0xff, seg[9] = (crc >> 8) & 0xff, seg[10] = (crc >> 16) & 0xff, seg[11] = crc >> 24; /* little-endian on the wire */
  return 32;
}

static int send_fd = -1;

static const char *send_probe(const struct proto *pr, const char *src_text, const char *dst_text, unsigned sport, unsigned dport, uint32_t token,
                              unsigned decoy) {
  struct in_addr src, dst;
  if (inet_pton(AF_INET, src_text, &src) != 1 || inet_pton(AF_INET, dst_text, &dst) != 1) return "bad address";
  if (sport < 1 || sport > 65535 || dport < 1 || dport > 65535 || decoy > 65535) return "bad port";
  if (send_fd < 0) {
    /* IPPROTO_RAW implies IP_HDRINCL: the header below, source address included, goes out as written. */
    send_fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (send_fd < 0) return strerror(errno);
  }
  uint8_t pkt[24 + 32];
  size_t ip_len = decoy ? 24 : 20;
  size_t seg_len = build_segment(pr->number, ntohl(src.s_addr), ntohl(dst.s_addr), (uint16_t)sport, (uint16_t)dport, token, pkt + ip_len);
  memset(pkt, 0, ip_len);
  pkt[0] = (uint8_t)(0x40 | ip_len / 4);  /* IPv4, header length in words */
  put16(pkt + 2, (uint16_t)(ip_len + seg_len)); /* total length */
  put16(pkt + 4, (uint16_t)(token ^ (token >> 16))); /* IP id; the kernel computes the header checksum */
  pkt[8] = 64;                            /* TTL */
  pkt[9] = (uint8_t)pr->number;
  memcpy(pkt + 12, &src.s_addr, 4), memcpy(pkt + 16, &dst.s_addr, 4);
  if (decoy) pkt[20] = IPOPT_EXPERIMENT, pkt[21] = 4, put16(pkt + 22, (uint16_t)decoy);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = dst};
  if (sendto(send_fd, pkt, ip_len + seg_len, 0, (struct sockaddr *)&to, sizeof to) < 0) return strerror(errno);
  return NULL;
}

/* Reports one received packet if it is one of ours (a first fragment or an unfragmented packet). */
static void report(const struct proto *pr, const uint8_t *pkt, size_t len) {
  if (len < 20 || (pkt[0] >> 4) != 4) return;
  size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
  if ((get16(pkt + 6) & 0x1fff) != 0 || len < ihl + 8) return;
  const uint8_t *l4 = pkt + ihl;
  size_t l4_len = len - ihl;
  uint32_t token;
  if (pr->number == IPPROTO_TCP) {
    if (l4_len < 20 || (l4[13] & 0x12) != 0x02) return; /* SYN without ACK */
    token = get32(l4 + 4);
  } else if (pr->number == IPPROTO_UDP) {
    if (l4_len < 16 || get32(l4 + 8) != UDP_MAGIC) return;
    token = get32(l4 + 12);
  } else {
    if (l4_len < 32 || l4[12] != 1) return; /* INIT */
    token = get32(l4 + 16);
  }
  char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, pkt + 12, src, sizeof src);
  inet_ntop(AF_INET, pkt + 16, dst, sizeof dst);
  printf("seen %s %s %s %u %u %u\n", pr->name, src, dst, get16(l4), get16(l4 + 2), token);
}

static void command(char *line) {
  char verb[16], proto_name[16], src[64], dst[64];
  unsigned sport, dport, decoy = 0;
  unsigned long token;
  if (sscanf(line, "send %15s %63s %63s %u %u %lu %u", proto_name, src, dst, &sport, &dport, &token, &decoy) >= 6) {
    const struct proto *pr = proto_by_name(proto_name);
    const char *why = pr ? send_probe(pr, src, dst, sport, dport, (uint32_t)token, decoy) : "unknown protocol";
    if (why) printf("error %lu %s\n", token, why);
    else printf("sent %lu\n", token);
  } else if (sscanf(line, "sniff %15s", proto_name) == 1) {
    struct proto *pr = proto_by_name(proto_name);
    if (!pr) {
      printf("error 0 unknown protocol %s\n", proto_name);
    } else {
      if (pr->sniff_fd < 0) pr->sniff_fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK, pr->number);
      if (pr->sniff_fd < 0) printf("error 0 sniff %s: %s\n", pr->name, strerror(errno));
      else printf("sniffing %s\n", pr->name);
    }
  } else if (sscanf(line, "%15s", verb) == 1) {
    printf("error 0 unknown command %s\n", verb);
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  char buf[4096];
  size_t used = 0;
  for (;;) {
    struct pollfd fds[1 + NPROTOS];
    fds[0] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
    for (size_t i = 0; i < NPROTOS; i++) fds[1 + i] = (struct pollfd){.fd = protos[i].sniff_fd, .events = POLLIN};
    if (poll(fds, 1 + NPROTOS, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    for (size_t i = 0; i < NPROTOS; i++) {
      if (!(fds[1 + i].revents & POLLIN)) continue;
      uint8_t pkt[2048];
      ssize_t n;
      while ((n = recv(protos[i].sniff_fd, pkt, sizeof pkt, 0)) > 0) report(&protos[i], pkt, (size_t)n);
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(STDIN_FILENO, buf + used, sizeof buf - 1 - used);
      if (n <= 0) return 0; /* the agent is gone */
      used += (size_t)n;
      buf[used] = '\0';
      char *start = buf, *nl;
      while ((nl = strchr(start, '\n')) != NULL) {
        *nl = '\0';
        command(start);
        start = nl + 1;
      }
      used = (size_t)(buf + used - start);
      memmove(buf, start, used);
      if (used == sizeof buf - 1) used = 0; /* a line longer than any command: drop it */
    }
  }
}
