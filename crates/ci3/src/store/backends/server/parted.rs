//! A stream sent to our server as a parted upload (full mode): read in `PART`-sized pieces,
//! each PUT with its length while the next is read, `IN_FLIGHT` at a time, then completed by
//! naming the parts' tags; nothing touches the disk and memory stays under
//! `(IN_FLIGHT + 1) * PART`. A stream shorter than a part goes as one plain PUT.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

use super::ServerStore;
use crate::error::{Error, Kind, Result};
use crate::remote::{encode, encode_query, Body, Method, Request};
use crate::store::{check_name, Put};

/// The size of a part (S3 behind the server wants 5 MiB at least, all but the last).
const PART: usize = 8 << 20;
/// Parts being sent at once while the next is read.
const IN_FLIGHT: usize = 3;

impl ServerStore {
    /// A create-only write asks first, as `put` does: an existing artifact costs no transfer.
    pub(super) fn put_parted(
        &self,
        name: &str,
        reader: &mut dyn Read,
        create_only: bool,
    ) -> Result<Put> {
        check_name(name)?;
        let path = format!("/objects/{}", encode(name));
        if create_only && self.head(&path)?.is_some() {
            return Ok(Put::AlreadyExists);
        }
        let first = read_part(reader, name)?;
        if first.len() < PART {
            return self.put(name, Body::Bytes(first), create_only);
        }
        let mut begin = Request::new(Method::POST, format!("{path}?uploads"));
        if create_only {
            begin = begin.header("if-none-match", "*");
        }
        let response = self.conn.send(begin)?;
        let id = match response.status() {
            200 => response.text()?.trim().to_string(),
            412 => return Ok(Put::AlreadyExists),
            _ => return Err(response.unexpected()),
        };
        let upload = format!("{path}?upload={}", encode_query(&id));
        let done = self
            .send_parts(&upload, first, reader, name)
            .and_then(|tags| self.complete(&upload, &tags, create_only));
        if done.is_err() {
            // Nothing was published; the parts would wait for the server's sweep otherwise.
            let _ = self
                .conn
                .send(Request::new(Method::DELETE, upload.as_str()));
        }
        done
    }

    /// Sends `first` and the rest of `reader` as parts; their numbers and tags, in order.
    fn send_parts(
        &self,
        upload: &str,
        first: Vec<u8>,
        reader: &mut dyn Read,
        name: &str,
    ) -> Result<Vec<(u32, String)>> {
        let (tx, rx) = mpsc::sync_channel::<(u32, Vec<u8>)>(0);
        let rx = Mutex::new(rx);
        let stop = AtomicBool::new(false);
        let send = |number: u32, bytes: Vec<u8>| -> Result<(u32, String)> {
            let request = Request::new(Method::PUT, format!("{upload}&part={number}"))
                .body(Body::Bytes(bytes));
            let response = self.conn.send(request)?;
            match (response.status(), response.header("etag")) {
                (200, Some(tag)) => Ok((number, tag.to_string())),
                _ => Err(response.unexpected()),
            }
        };
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..IN_FLIGHT)
                .map(|_| {
                    scope.spawn(|| -> Result<Vec<(u32, String)>> {
                        let mut tags = Vec::new();
                        loop {
                            let next = rx.lock().expect("parts").recv();
                            let Ok((number, bytes)) = next else {
                                return Ok(tags);
                            };
                            match send(number, bytes) {
                                Ok(tag) => tags.push(tag),
                                Err(e) => {
                                    stop.store(true, Ordering::Relaxed);
                                    return Err(e);
                                }
                            }
                        }
                    })
                })
                .collect();
            let mut read = Ok(());
            let (mut number, mut part) = (1u32, first);
            while !stop.load(Ordering::Relaxed) && tx.send((number, part)).is_ok() {
                part = match read_part(reader, name) {
                    Ok(part) if part.is_empty() => break,
                    Ok(part) => part,
                    Err(e) => {
                        read = Err(e);
                        break;
                    }
                };
                number += 1;
            }
            drop(tx);
            let mut tags = Vec::new();
            let mut failed = None;
            for worker in workers {
                match worker.join() {
                    Ok(Ok(sent)) => tags.extend(sent),
                    Ok(Err(e)) => {
                        failed.get_or_insert(e);
                    }
                    Err(_) => {
                        failed.get_or_insert(Error::new(
                            Kind::Failed,
                            format!("sending a part of {name} stopped"),
                        ));
                    }
                }
            }
            read?;
            if let Some(e) = failed {
                return Err(e);
            }
            tags.sort();
            Ok(tags)
        })
    }

    /// Publishes the upload: `If-None-Match: *` when create-only (412: someone else's is
    /// there), else `X-CI3-Overwrite: 1`.
    fn complete(&self, upload: &str, tags: &[(u32, String)], create_only: bool) -> Result<Put> {
        let list: String = tags.iter().map(|(n, tag)| format!("{n} {tag}\n")).collect();
        let request = Request::new(Method::POST, format!("{upload}&complete"))
            .body(Body::Bytes(list.into_bytes()));
        let request = match create_only {
            true => request.header("if-none-match", "*"),
            false => request.header("x-ci3-overwrite", "1"),
        };
        let response = self.conn.send(request)?;
        match response.status() {
            412 => Ok(Put::AlreadyExists),
            200..=299 if response.header("x-ci3-existed").is_some() => Ok(Put::AlreadyExists),
            200..=299 => Ok(Put::Created),
            _ => Err(response.unexpected()),
        }
    }
}

/// Up to one part of the stream; fewer bytes only at its end. A read error is the stream's
/// (never an outage of the server).
fn read_part(reader: &mut dyn Read, name: &str) -> Result<Vec<u8>> {
    let mut part = Vec::with_capacity(PART);
    reader
        .take(PART as u64)
        .read_to_end(&mut part)
        .map_err(|e| Error::new(Kind::Io, format!("upload of {name} stopped: {e}")))?;
    Ok(part)
}
