//! Command bench-aya is aya's side of tsbpf's benchmarks (bench/): the same
//! operations as the C helpers against libbpf, through aya's API at the
//! version Cargo.lock pins, printed as the same JSON. aya has no batch map
//! calls, no split BTF and no full BTF decode API: those rows are left out.
//!
//!   bench-aya maps OPS                          single-element hash update and lookup (u32 -> u64)
//!   bench-aya typed OPS WALKS                   u32 -> struct: insert/get, HashMap::iter walks
//!   bench-aya load OBJ ROUNDS [WARMUP]          Ebpf::load_file + every program loaded + drop
//!   bench-aya btf FILE ROUNDS                   Btf::parse_file + id_by_type_name_kind(task_struct)
//!   bench-aya ringbuf OBJ N                     RingBuf over N records a program wrote
//!   bench-aya walk N WALKS                      HashMap::iter walk of an N-entry map (scale curve)
//!   bench-aya ringbuf-mp OBJ N K PRODUCER PIN   N records from K concurrent producers (scale curve)

mod btf;
mod load;
mod maps;
mod ringbuf;

use std::process::exit;

pub type Figures = Vec<(&'static str, f64)>;
pub type Outcome = Result<String, Box<dyn std::error::Error>>;

/// One JSON object of named figures, as the C helpers print.
pub fn json(figures: &Figures) -> String {
    let fields: Vec<String> = figures
        .iter()
        .map(|(k, v)| format!("\"{k}\":{v:.1}"))
        .collect();
    format!("{{{}}}", fields.join(","))
}

pub fn median(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    s[s.len() / 2]
}

pub fn num_arg(args: &[String], i: usize, default: Option<u64>) -> u64 {
    match args.get(i) {
        Some(a) => a
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| usage(&format!("bad number {a:?}"))),
        None => default.unwrap_or_else(|| usage(&format!("missing argument {}", i + 1))),
    }
}

pub fn str_arg(args: &[String], i: usize) -> &str {
    args.get(i)
        .map(String::as_str)
        .unwrap_or_else(|| usage(&format!("missing argument {}", i + 1)))
}

fn usage(why: &str) -> ! {
    eprintln!(
        "bench-aya: {why}\nusage: bench-aya maps|typed|load|btf|ringbuf|walk|ringbuf-mp ARGS..."
    );
    exit(2)
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let cmd = argv.get(1).map(String::as_str).unwrap_or("");
    let args = &argv[2.min(argv.len())..];
    let outcome = match cmd {
        "maps" => maps::bench_maps(args),
        "typed" => maps::bench_typed(args),
        "walk" => maps::bench_walk(args),
        "load" => load::bench_load(args),
        "btf" => btf::bench_btf(args),
        "ringbuf" => ringbuf::bench_ringbuf(args),
        "ringbuf-mp" => ringbuf::bench_ringbuf_mp(args),
        _ => usage("unknown command"),
    };
    match outcome {
        Ok(out) => println!("{out}"),
        Err(e) => {
            eprintln!("bench-aya {cmd}: {e}");
            exit(1)
        }
    }
}
