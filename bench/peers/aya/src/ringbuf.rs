//! Ring buffer consumption through aya's RingBuf (bench/ringbuf and the
//! producers scale curve): records of { u64 seq; u32 len; u32 flags } written
//! by bench/ringbuf/emit.bpf.c, read with RingBuf::next (non-blocking), two
//! fields summed as the C helper does.

use std::process::Command;
use std::time::Instant;

use aya::maps::{MapData, RingBuf};
use aya::programs::Xdp;
use aya::{Ebpf, TestRun, TestRunOptions};

use crate::load::open_and_load;
use crate::{Outcome, json, num_arg, str_arg};

fn open(obj: &str) -> Result<(Ebpf, RingBuf<MapData>), Box<dyn std::error::Error>> {
    let mut ebpf = open_and_load(obj)?;
    let ring = RingBuf::try_from(ebpf.take_map("records").ok_or("no map records")?)?;
    Ok((ebpf, ring))
}

fn emit(ebpf: &mut Ebpf) -> Result<&mut Xdp, Box<dyn std::error::Error>> {
    Ok(ebpf
        .program_mut("emit")
        .ok_or("no program emit")?
        .try_into()?)
}

/// Reads n records; returns the seconds from the first record to the last.
fn consume(ring: &mut RingBuf<MapData>, n: u64) -> f64 {
    let mut seen = 0u64;
    let mut checksum = 0u64;
    let mut start = None;
    while seen < n {
        if let Some(item) = ring.next() {
            start.get_or_insert_with(Instant::now);
            let seq = u64::from_le_bytes(item[0..8].try_into().unwrap());
            let len = u32::from_le_bytes(item[8..12].try_into().unwrap());
            checksum = checksum.wrapping_add(seq + len as u64);
            seen += 1;
        }
    }
    std::hint::black_box(checksum);
    start.map_or(0.0, |s| s.elapsed().as_secs_f64())
}

pub fn bench_ringbuf(args: &[String]) -> Outcome {
    let obj = str_arg(args, 0);
    let n = num_arg(args, 1, None);
    let (mut ebpf, mut ring) = open(obj)?;
    let packet = [0u8; 64];
    let mut opts = TestRunOptions::new();
    opts.data_in = Some(&packet);
    opts.repeat = n as u32;
    emit(&mut ebpf)?.test_run(opts)?;
    let start = Instant::now();
    consume(&mut ring, n);
    Ok(json(&vec![(
        "recordsPerSec",
        n as f64 / start.elapsed().as_secs_f64(),
    )]))
}

pub fn bench_ringbuf_mp(args: &[String]) -> Outcome {
    let obj = str_arg(args, 0);
    let n = num_arg(args, 1, None);
    let k = num_arg(args, 2, None);
    let producer = str_arg(args, 3);
    let pin = str_arg(args, 4);
    let (mut ebpf, mut ring) = open(obj)?;
    emit(&mut ebpf)?.pin(pin)?;
    let result = (|| {
        let mut child = Command::new(producer)
            .args(["produce", pin, &k.to_string(), &n.to_string()])
            .spawn()?;
        let secs = consume(&mut ring, n);
        let status = child.wait()?;
        if !status.success() {
            return Err(format!("producer: {status}").into());
        }
        Ok(json(&vec![("recordsPerSec", n as f64 / secs)]))
    })();
    let _ = std::fs::remove_file(pin);
    result
}
