//! The one source of randomness: the operating system's, for log keys, run ids, uuids and keys.

use std::io;

/// `N` random bytes from the operating system (the `getrandom` call, `/dev/urandom` where it is
/// missing): good enough for signing keys, so for everything else too.
pub fn bytes<const N: usize>() -> io::Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::getrandom(&mut out).map_err(|e| match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::other(e.to_string()),
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_draws_differ() {
        let (a, b) = (super::bytes::<16>().unwrap(), super::bytes::<16>().unwrap());
        assert_ne!(a, b);
    }
}
