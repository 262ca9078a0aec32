//! Packing and unpacking a 200 MiB tree keeps memory bounded: the archive layer streams.
//! Alone in its test binary, so the process's peak RSS is this test's.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use ci3::archive::{self, Compression};

const MIB: usize = 1 << 20;

/// The process's resident-set high-water mark (VmHWM), in MiB.
fn peak_rss_mib() -> usize {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024
}

/// Resets VmHWM to the current RSS, so the next reading is this test's own peak.
fn reset_peak_rss() {
    fs::write("/proc/self/clear_refs", "5").unwrap();
}

/// Two 100 MiB files of generated text with random runs, written chunk by chunk.
fn generate(src: &Path) -> blake3::Hash {
    let mut state = 0x1234_5678u32;
    let mut chunk = Vec::with_capacity(MIB + 64);
    for line in 0u32.. {
        if chunk.len() >= MIB {
            break;
        }
        write!(chunk, "line {line} of a generated build output, ").unwrap();
        for _ in 0..(line % 5) * 4 {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            chunk.push((state >> 24) as u8);
        }
        chunk.push(b'\n');
    }
    chunk.truncate(MIB);
    let mut all = blake3::Hasher::new();
    for name in ["a/big-1.bin", "b/big-2.bin"] {
        let path = src.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut f = File::create(path).unwrap();
        for i in 0..100u64 {
            chunk[..8].copy_from_slice(&i.to_le_bytes());
            f.write_all(&chunk).unwrap();
            all.update(&chunk);
        }
    }
    all.finalize()
}

fn hash_files(dir: &Path) -> blake3::Hash {
    let mut all = blake3::Hasher::new();
    for name in ["a/big-1.bin", "b/big-2.bin"] {
        all.update_reader(File::open(dir.join(name)).unwrap())
            .unwrap();
    }
    all.finalize()
}

#[test]
fn a_200_mib_tree_streams_in_bounded_memory() {
    let tmp = tempfile::TempDir::new().unwrap();
    let src = tmp.path().join("src");
    let expected = generate(&src);
    reset_peak_rss();
    let baseline = peak_rss_mib();
    for c in [Compression::Zstd, Compression::Gzip] {
        let art = tmp.path().join("artifact");
        archive::pack(
            &[PathBuf::from("a"), PathBuf::from("b")],
            &src,
            c,
            File::create(&art).unwrap(),
        )
        .unwrap();
        let v = archive::verify(File::open(&art).unwrap(), c).unwrap();
        assert!(v.digest.is_some());
        let out = tmp.path().join("out");
        archive::unpack(File::open(&art).unwrap(), c, &out).unwrap();
        assert_eq!(hash_files(&out), expected, "{c:?}");
        fs::remove_dir_all(&out).unwrap();
    }
    let peak = peak_rss_mib();
    assert!(
        peak < baseline + 120,
        "peak RSS grew from {baseline} MiB to {peak} MiB for a 200 MiB tree"
    );
    eprintln!("peak RSS: {baseline} MiB before, {peak} MiB after");
}
