//! Loading through aya (bench/load and the load scale curves):
//! Ebpf::load_file (reads and parses the ELF file, creates the maps), every
//! program loaded (aya loads programs one by one, on request), then dropped;
//! timed per round after WARMUP untimed rounds (20, as the C helper).

use std::time::Instant;

use aya::Ebpf;
use aya::programs::Program;

use crate::{Outcome, json, median, num_arg, str_arg};

/// Opens obj and loads all its programs (the benches' objects hold XDP programs).
pub fn open_and_load(obj: &str) -> Result<Ebpf, Box<dyn std::error::Error>> {
    let mut ebpf = Ebpf::load_file(obj)?;
    for (name, program) in ebpf.programs_mut() {
        match program {
            Program::Xdp(p) => p.load()?,
            Program::SocketFilter(p) => p.load()?,
            Program::SchedClassifier(p) => p.load()?,
            _ => return Err(format!("{obj}: program {name}: not a type this bench loads").into()),
        }
    }
    Ok(ebpf)
}

pub fn bench_load(args: &[String]) -> Outcome {
    let obj = str_arg(args, 0);
    let rounds = num_arg(args, 1, None) as usize;
    let warmup = num_arg(args, 2, Some(20)) as usize;
    let mut t = Vec::with_capacity(rounds);
    for i in 0..rounds + warmup {
        let start = Instant::now();
        drop(open_and_load(obj)?);
        if i >= warmup {
            t.push(start.elapsed().as_nanos() as f64 / 1e3);
        }
    }
    Ok(json(&vec![("medianUs", median(&t))]))
}
