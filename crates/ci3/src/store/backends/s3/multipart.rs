//! S3 multipart uploads: a stream sent in 8 MiB parts, several in flight, completed only when
//! every byte arrived, and a journal (`$XDG_CACHE_HOME/ci3/multipart`) of the uploads begun, so
//! that the next run aborts what a killed process left behind.

use std::io::Read;

use s3::error::S3Error;
use s3::Bucket;

use super::S3Store;

/// The scratch kind of a record being written, before it is renamed to `multipart`.
const STAGED: &str = "multipart.new";

/// Concurrent 8 MiB parts per multipart upload: bounds memory to under 100 MiB.
const PARTS_IN_FLIGHT: usize = 8;
/// Multipart part size (S3 wants at least 5 MiB for all but the last).
pub(super) const PART: usize = 8 << 20;

impl S3Store {
    /// Aborts the multipart uploads that processes of this machine began and did not live to
    /// finish (a SIGKILL gives no chance to abort): their parts would be kept and billed forever.
    pub(super) fn abort_orphaned_uploads(&self) {
        let Some(dir) = &self.journal else { return };
        crate::scratch::sweep(dir, &["multipart", STAGED], &|record| {
            let text = std::fs::read_to_string(record)?;
            let mut lines = text.lines();
            let (Some(url), Some(key), Some(id)) = (lines.next(), lines.next(), lines.next())
            else {
                return Ok(());
            };
            if url != self.url {
                // Another store's: left for a tool that talks to that one, unless that store has
                // not been used from here for a week.
                let age = std::fs::metadata(record)?
                    .modified()?
                    .elapsed()
                    .unwrap_or_default();
                return match age > std::time::Duration::from_secs(7 * 86400) {
                    true => Ok(()),
                    false => Err(std::io::Error::other("another store")),
                };
            }
            match self.runtime.block_on(self.meta.abort_upload(key, id)) {
                Ok(()) | Err(S3Error::HttpFailWithBody(404, _)) => Ok(()),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            }
        });
    }

    /// Records an upload begun, until `Drop` of what this returns.
    fn record_upload(&self, key: &str, id: &str) -> Option<tempfile::NamedTempFile> {
        let dir = self.journal.as_ref()?;
        std::fs::create_dir_all(dir).ok()?;
        // Written under a staging name and renamed once complete: a record is never seen (by a
        // sweep, or by a test waiting for it) without its upload id. One killed while staged
        // is swept like a record: aborted when complete, removed when not.
        let mut staged = crate::scratch::file_in(dir, STAGED).ok()?;
        std::io::Write::write_all(
            staged.as_file_mut(),
            format!("{}\n{key}\n{id}\n", self.url).as_bytes(),
        )
        .ok()?;
        let name = staged
            .path()
            .file_name()?
            .to_str()?
            .replacen(STAGED, "multipart", 1);
        let path = dir.join(name);
        let file = staged.persist_noclobber(&path).ok()?;
        Some(tempfile::NamedTempFile::from_parts(
            file,
            tempfile::TempPath::try_from_path(path).ok()?,
        ))
    }

    /// Uploads what `reader` yields: one PUT when it is under a part, else a multipart upload
    /// with each part uploaded in a task of its own, `PARTS_IN_FLIGHT` at a time. Nothing
    /// becomes visible unless every byte arrived (a failed multipart upload is aborted).
    pub(super) fn upload(
        &self,
        key: &str,
        reader: &mut dyn Read,
        create_only: bool,
    ) -> Result<(), S3Error> {
        const TYPE: &str = "application/octet-stream";
        let first = read_part(reader)?;
        if first.len() < PART {
            return self.runtime.block_on(async {
                let mut request = self
                    .part
                    .put_object_builder(key, &first)
                    .with_content_type(TYPE);
                if create_only {
                    request = request.with_header("if-none-match", "*")?;
                }
                request.execute().await.map(drop)
            });
        }
        let upload_id = self
            .runtime
            .block_on(self.meta.initiate_multipart_upload(key, TYPE))?
            .upload_id;
        let _record = self.record_upload(key, &upload_id);
        let result = (|| {
            let mut in_flight: std::collections::VecDeque<
                tokio::task::JoinHandle<Result<s3::serde_types::Part, S3Error>>,
            > = std::collections::VecDeque::new();
            let mut parts = Vec::new();
            let mut chunk = first;
            for number in 1.. {
                if in_flight.len() >= PARTS_IN_FLIGHT {
                    parts.push(
                        self.runtime
                            .block_on(in_flight.pop_front().expect("in flight"))
                            .map_err(join_error)??,
                    );
                }
                let (bucket, key, id) = (self.part.clone(), key.to_string(), upload_id.clone());
                in_flight.push_back(
                    self.runtime
                        .spawn(async move { put_part(&bucket, &key, &id, number, chunk).await }),
                );
                chunk = read_part(reader)?;
                if chunk.is_empty() {
                    break;
                }
            }
            for handle in in_flight {
                parts.push(self.runtime.block_on(handle).map_err(join_error)??);
            }
            let finish = completing(&self.part, create_only)?;
            self.runtime
                .block_on(finish.complete_multipart_upload(key, &upload_id, parts))
                .map(drop)
        })();
        if result.is_err() {
            let _ = self
                .runtime
                .block_on(self.meta.abort_upload(key, &upload_id));
        }
        result
    }
}

/// The bucket that completes an upload: a create-only one asks `If-None-Match: *`.
pub(super) fn completing(bucket: &Bucket, create_only: bool) -> Result<Bucket, S3Error> {
    if !create_only {
        return Ok(bucket.clone());
    }
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::IF_NONE_MATCH,
        http::HeaderValue::from_static("*"),
    );
    bucket.with_extra_headers(headers)
}

/// Uploads one part through a presigned URL.
async fn put_part(
    bucket: &Bucket,
    key: &str,
    upload_id: &str,
    number: u32,
    chunk: Vec<u8>,
) -> Result<s3::serde_types::Part, S3Error> {
    let request = part_request(bucket, key, upload_id, number, chunk.into()).await?;
    Ok(s3::serde_types::Part {
        part_number: number,
        etag: send_part(request).await?,
    })
}

/// The PUT of part `number` of an upload, through a presigned URL and with the store's time
/// limit: the payload is not hashed by the client (rust-s3 would compute both an MD5 and a
/// SHA-256 of it) nor checked again by the server. The artifact's own BLAKE3 trailer is what
/// proves its bytes, end to end.
pub(super) async fn part_request(
    bucket: &Bucket,
    key: &str,
    upload_id: &str,
    number: u32,
    body: reqwest::Body,
) -> Result<reqwest::RequestBuilder, S3Error> {
    let query = std::collections::HashMap::from([
        ("partNumber".to_string(), number.to_string()),
        ("uploadId".to_string(), upload_id.to_string()),
    ]);
    let url = bucket.presign_put(key, 3600, None, Some(query)).await?;
    let mut request = bucket.http_client().put(url).body(body);
    if let Some(deadline) = bucket.request_timeout() {
        request = request.timeout(deadline);
    }
    Ok(request)
}

/// Sends a part's PUT; the part's ETag.
pub(super) async fn send_part(request: reqwest::RequestBuilder) -> Result<String, S3Error> {
    // Without the URL: a presigned one carries a credential and a signature.
    let response = request.send().await.map_err(|e| e.without_url())?;
    let status = response.status().as_u16();
    if !response.status().is_success() {
        return Err(S3Error::HttpFailWithBody(
            status,
            response.text().await.unwrap_or_default(),
        ));
    }
    response
        .headers()
        .get(http::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| S3Error::HttpFailWithBody(status, "no ETag for an uploaded part".into()))
}

/// Up to one part's worth of bytes; fewer only at the end of the stream.
fn read_part(reader: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut chunk = Vec::with_capacity(PART);
    reader.take(PART as u64).read_to_end(&mut chunk)?;
    Ok(chunk)
}

fn join_error(e: tokio::task::JoinError) -> S3Error {
    S3Error::Io(std::io::Error::other(format!("upload task failed: {e}")))
}
