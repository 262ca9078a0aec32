//! `parallelise [JOBS]`: the other spelling of `parallelize`, which scripts also call.

#[path = "parallelize.rs"]
mod parallelize;

fn main() {
    parallelize::main()
}
