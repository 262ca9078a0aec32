//! One range of a large download, fetched into a buffer of its exact length.

use s3::error::S3Error;
use s3::Bucket;

use super::{is_transient, SHORT_RANGE};
use crate::store::backends::retry::{backoff, ATTEMPTS};

/// Bytes `start..=end` of `key`, retried on transient failures. Each range arrives into a
/// buffer of its exact length: collected the way rust-s3 collects a body, it was held twice
/// (its chunks, then one copy), and a download holds `RANGES_IN_FLIGHT` of them.
pub(super) async fn fetch(
    bucket: &Bucket,
    key: &str,
    start: u64,
    end: u64,
) -> Result<bytes::Bytes, S3Error> {
    let len = (end - start + 1) as usize;
    let mut attempt = 1;
    loop {
        let mut range = RangeBuf(Vec::with_capacity(len));
        match bucket
            .get_object_range_to_writer(key, start, Some(end), &mut range)
            .await
        {
            Ok(_) if range.0.len() == len => return Ok(range.0.into()),
            Ok(_) => return Err(S3Error::HttpFailWithBody(412, SHORT_RANGE.into())),
            Err(S3Error::Io(e)) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                return Err(S3Error::HttpFailWithBody(412, SHORT_RANGE.into()))
            }
            Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A range's buffer, refusing bytes past its capacity: a server that ignores `Range` sends the
/// whole object, which must not grow the buffer.
struct RangeBuf(Vec<u8>);

impl tokio::io::AsyncWrite for RangeBuf {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let room = self.0.capacity() - self.0.len();
        if buf.len() > room {
            return std::task::Poll::Ready(Err(std::io::ErrorKind::FileTooLarge.into()));
        }
        self.0.extend_from_slice(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_range_buffer_refuses_bytes_past_its_length() {
        let mut range = RangeBuf(Vec::with_capacity(4));
        range.write_all(b"abcd").await.unwrap();
        let past = range.write_all(b"e").await.unwrap_err();
        assert_eq!(past.kind(), std::io::ErrorKind::FileTooLarge);
        assert_eq!(range.0, b"abcd");
    }
}
