//! BTF through aya (bench/btf): Btf::parse_file of a file, or Btf::parse of
//! bytes in memory, then id_by_type_name_kind of task_struct. aya parses
//! every type as it reads the blob; it has no split BTF (module BTF on the
//! kernel's) and no API to visit decoded types' names, so those rows are
//! left out.

use std::time::Instant;

use aya::{Btf, Endianness};
use aya_obj::btf::BtfKind;

use crate::{Outcome, median, num_arg, str_arg};

fn time_ms(
    rounds: usize,
    mut f: impl FnMut() -> Result<(), Box<dyn std::error::Error>>,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut t = Vec::with_capacity(rounds);
    for i in 0..rounds + 3 {
        let start = Instant::now();
        f()?;
        if i >= 3 {
            t.push(start.elapsed().as_nanos() as f64 / 1e6);
        }
    }
    let min = t.iter().cloned().fold(f64::INFINITY, f64::min);
    Ok(format!(
        "{{\"median\":{:.4},\"min\":{:.4}}}",
        median(&t),
        min
    ))
}

pub fn bench_btf(args: &[String]) -> Outcome {
    let file = str_arg(args, 0).to_string();
    let rounds = num_arg(args, 1, None) as usize;
    let data = std::fs::read(&file)?;
    let from_file = time_ms(rounds, || {
        let btf = Btf::parse_file(&file, Endianness::default())?;
        btf.id_by_type_name_kind("task_struct", BtfKind::Struct)?;
        Ok(())
    })?;
    let from_memory = time_ms(rounds, || {
        let btf = Btf::parse(&data, Endianness::default())?;
        btf.id_by_type_name_kind("task_struct", BtfKind::Struct)?;
        Ok(())
    })?;
    Ok(format!(
        "{{\"parseFind\":{from_file},\"parseFindMemory\":{from_memory}}}"
    ))
}
