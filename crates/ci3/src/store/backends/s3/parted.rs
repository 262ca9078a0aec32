//! Parted uploads of the S3 store, one to one onto S3's multipart upload, so that all their
//! state is the bucket's and any server over it takes any part: each part streamed into an
//! UploadPart of exactly its length (never held whole), the parts' ETags the tags completion
//! names, completion create-only by `If-None-Match: *`, and uploads older than a cut-off
//! aborted by the sweep.

use std::io::Read;

use futures_util::StreamExt;
use s3::error::S3Error;

use super::multipart::{completing, part_request, send_part};
use super::{detail, S3Store};
use crate::error::{Error, Kind, Result};
use crate::store::{Parted, Put};

/// How much of a part is read before it is handed to the request.
const PIECE: usize = 256 << 10;

impl Parted for S3Store {
    fn begin(&self, name: &str) -> Result<String> {
        let key = self.key(name)?;
        self.run(|| {
            self.meta
                .initiate_multipart_upload(&key, "application/octet-stream")
        })
        .map(|begun| begun.upload_id)
        .map_err(|e| self.fail("begin an upload of", &key, e))
    }

    /// The request runs on a thread of its own driving the store's runtime, while this one
    /// reads `reader` (which may block on another runtime) into the request's body stream.
    fn put_part(
        &self,
        name: &str,
        id: &str,
        number: u32,
        reader: &mut dyn Read,
        length: u64,
    ) -> Result<String> {
        let key = self.key(name)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(4);
        let body = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|piece| (piece, rx))
        });
        let body = reqwest::Body::wrap_stream(body.boxed());
        let request = self
            .runtime
            .block_on(part_request(&self.part, &key, id, number, body))
            .map_err(|e| self.fail("upload a part of", &key, e))?
            .header(http::header::CONTENT_LENGTH, length);
        let mut failed: Option<std::io::Error> = None;
        let sent = std::thread::scope(|scope| {
            let sender = scope.spawn(|| self.runtime.block_on(send_part(request)));
            let mut left = length;
            while left > 0 {
                let mut piece = vec![0u8; PIECE.min(left as usize)];
                let n = match reader.read(&mut piece) {
                    Ok(0) => Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("the part ended {left} bytes short"),
                    )),
                    Ok(n) => Ok(n),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e),
                };
                match n {
                    Ok(n) => {
                        piece.truncate(n);
                        left -= n as u64;
                        if tx.blocking_send(Ok(piece.into())).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        // The request fails with the stream, so S3 keeps no short part.
                        let _ = tx.blocking_send(Err(std::io::Error::new(e.kind(), e.to_string())));
                        failed = Some(e);
                        break;
                    }
                }
            }
            drop(tx);
            sender.join()
        });
        if let Some(e) = failed {
            return Err(Error::new(
                Kind::Io,
                format!("part {number} of {key} stopped: {e}"),
            ));
        }
        match sent {
            Ok(Ok(etag)) => Ok(etag),
            Ok(Err(e)) => Err(self.fail("upload a part of", &key, e)),
            Err(_) => Err(Error::new(
                Kind::Failed,
                format!("the upload of part {number} of {key} stopped"),
            )),
        }
    }

    fn complete(
        &self,
        name: &str,
        id: &str,
        parts: &[(u32, String)],
        create_only: bool,
    ) -> Result<Put> {
        let key = self.key(name)?;
        if parts.is_empty() {
            return Err(Error::usage(format!("upload {id}: no parts named")));
        }
        let parts: Vec<s3::serde_types::Part> = parts
            .iter()
            .map(|(number, etag)| s3::serde_types::Part {
                part_number: *number,
                etag: etag.clone(),
            })
            .collect();
        let finish =
            completing(&self.part, create_only).map_err(|e| self.fail("complete", &key, e))?;
        let done = self
            .runtime
            .block_on(finish.complete_multipart_upload(&key, id, parts));
        match done {
            Ok(_) => Ok(Put::Created),
            Err(S3Error::HttpFailWithBody(412, _)) if create_only => {
                let _ = self.runtime.block_on(self.meta.abort_upload(&key, id));
                Ok(Put::AlreadyExists)
            }
            Err(e @ S3Error::HttpFailWithBody(400 | 404, _)) => Err(Error::usage(format!(
                "upload {id} of {name} cannot be completed: {}",
                detail(&e)
            ))),
            Err(e) => Err(self.fail("complete", &key, e)),
        }
    }

    fn abort(&self, name: &str, id: &str) -> Result<()> {
        let key = self.key(name)?;
        match self.run(|| self.meta.abort_upload(&key, id)) {
            Ok(()) | Err(S3Error::HttpFailWithBody(404, _)) => Ok(()),
            Err(e) => Err(self.fail("abort an upload of", &key, e)),
        }
    }

    /// The bucket's uploads under this store's prefix begun before `before`, aborted.
    fn sweep_uploads(&self, before: u64) -> Result<usize> {
        let prefix = self.prefix.clone();
        let pages = match self.run(|| self.meta.list_multiparts_uploads(Some(&prefix), None)) {
            Ok(pages) => pages,
            // A server without the listing (s3s-fs) leaves its uploads to the bucket's rules.
            Err(S3Error::HttpFailWithBody(501, _)) => return Ok(0),
            Err(e) => return Err(self.fail("list the uploads under", &prefix, e)),
        };
        let mut removed = 0;
        for upload in pages.into_iter().flat_map(|page| page.uploads) {
            let whole = upload.initiated.split('.').next().unwrap_or_default();
            let begun = crate::clock::parse_date(whole).map_or(u64::MAX, |us| us / 1_000_000);
            if begun < before
                && self
                    .runtime
                    .block_on(self.meta.abort_upload(&upload.key, &upload.id))
                    .is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }
}
