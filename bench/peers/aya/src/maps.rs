//! The map rows through aya's typed HashMap: single-element insert and get on
//! 1,024 hot keys (bench/maps: u32 -> u64; bench/typed: u32 -> a 24-byte
//! struct), and walks with HashMap::iter (get-next-key + lookup per element:
//! aya has no batch calls), also of maps from 1k to 1M entries (bench/scale).

use std::time::Instant;

use aya::Pod;
use aya::maps::{HashMap, MapData};

use crate::{Figures, Outcome, json, median, num_arg};

/// The 24-byte value of bench/typed: struct { u64 packets; u64 bytes; u32 ifindex; u32 flags; }.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Stats {
    packets: u64,
    bytes: u64,
    ifindex: u32,
    flags: u32,
}

// SAFETY: a plain C struct of integers, no padding.
unsafe impl Pod for Stats {}

fn per(start: Instant, n: u64) -> f64 {
    start.elapsed().as_nanos() as f64 / n as f64
}

pub fn bench_maps(args: &[String]) -> Outcome {
    let ops = num_arg(args, 0, Some(1_000_000));
    let mut m: HashMap<MapData, u32, u64> = HashMap::create(1024, 0)?;
    let t0 = Instant::now();
    for i in 0..ops {
        m.insert((i & 1023) as u32, i, 0)?;
    }
    let update_ns = per(t0, ops);
    let mut sum = 0u64;
    let t1 = Instant::now();
    for i in 0..ops {
        if let Ok(v) = m.get(&((i & 1023) as u32), 0) {
            sum = sum.wrapping_add(v);
        }
    }
    let lookup_ns = per(t1, ops);
    std::hint::black_box(sum);
    Ok(json(&vec![
        ("updateNs", update_ns),
        ("lookupNs", lookup_ns),
    ]))
}

/// A walk of every entry with HashMap::iter; ns an entry and the entries seen.
fn walk(
    m: &HashMap<MapData, u32, Stats>,
    sink: &mut u64,
) -> Result<(f64, u64), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut walked = 0u64;
    for entry in m.iter() {
        let (_, v) = entry?;
        *sink = sink.wrapping_add(v.packets);
        walked += 1;
    }
    Ok((per(start, walked.max(1)), walked))
}

fn fill(m: &mut HashMap<MapData, u32, Stats>, n: u32) -> Result<(), Box<dyn std::error::Error>> {
    for i in 0..n {
        m.insert(
            i,
            Stats {
                packets: i as u64,
                ifindex: i,
                ..Stats::default()
            },
            0,
        )?;
    }
    Ok(())
}

pub fn bench_typed(args: &[String]) -> Outcome {
    let ops = num_arg(args, 0, Some(500_000));
    let walks = num_arg(args, 1, Some(1)) as usize;
    let mut m: HashMap<MapData, u32, Stats> = HashMap::create(65536, 0)?;
    let t0 = Instant::now();
    for i in 0..ops {
        let k = (i & 1023) as u32;
        m.insert(
            k,
            Stats {
                packets: i,
                bytes: i * 2,
                ifindex: k,
                flags: 0,
            },
            0,
        )?;
    }
    let set_ns = per(t0, ops);
    let mut sink = 0u64;
    let t1 = Instant::now();
    for i in 0..ops {
        if let Ok(v) = m.get(&((i & 1023) as u32), 0) {
            sink = sink.wrapping_add(v.packets + v.ifindex as u64);
        }
    }
    let get_ns = per(t1, ops);
    fill(&mut m, 65536)?;
    let mut walk_ns = Vec::with_capacity(walks);
    for _ in 0..walks {
        walk_ns.push(walk(&m, &mut sink)?.0);
    }
    std::hint::black_box(sink);
    let figures: Figures = vec![
        ("setNs", set_ns),
        ("getNs", get_ns),
        ("entriesNs", median(&walk_ns)),
        ("entriesFirstNs", walk_ns[0]),
    ];
    Ok(json(&figures))
}

pub fn bench_walk(args: &[String]) -> Outcome {
    let n = num_arg(args, 0, None) as u32;
    let walks = num_arg(args, 1, Some(3)) as usize;
    let mut m: HashMap<MapData, u32, Stats> = HashMap::create(n, 0)?;
    fill(&mut m, n)?;
    let mut sink = 0u64;
    let mut walk_ns = Vec::with_capacity(walks);
    for _ in 0..walks {
        let (ns, walked) = walk(&m, &mut sink)?;
        if walked != n as u64 {
            return Err(format!("walked {walked} of {n}").into());
        }
        walk_ns.push(ns);
    }
    std::hint::black_box(sink);
    Ok(json(&vec![("entriesNs", median(&walk_ns))]))
}
