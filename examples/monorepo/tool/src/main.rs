//! A small Rust program compiled with plain rustc.
fn main() {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let total: usize = words.iter().map(|w| w.len()).sum();
    println!("tool: {} words, {} letters", words.len(), total);
}
