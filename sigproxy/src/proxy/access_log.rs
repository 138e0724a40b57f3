//! One access-log line per request, written once its answer has been sent (or abandoned):
//! method, path, status, bytes sent, total latency and the endpoint's latency to its headers.
//!
//! Only the path is logged: never the query (it may carry a presigned URL's credentials), nor
//! any header. Lines go to the `hydrant_sigproxy::access` target at info level.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::response::Response;
use bytes::Bytes;
use http::Method;
use http_body::{Body, Frame, SizeHint};

/// What is known of a request before its body has been sent back.
pub(crate) struct Entry {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) status: u16,
    pub(crate) started: Instant,
    pub(crate) upstream: Option<Duration>,
}

impl Entry {
    fn write(&self, bytes: u64, complete: bool) {
        tracing::info!(
            target: "hydrant_sigproxy::access",
            method = %self.method,
            path = %self.path,
            status = self.status,
            bytes,
            latency_ms = ms(self.started.elapsed()),
            upstream_ms = self.upstream.map(ms),
            complete,
            "{} {} {}", self.method, self.path, self.status
        );
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Logs a response made by the proxy itself (errors, health), whose size is known.
pub(crate) fn log_local(method: &Method, path: &str, response: &Response) {
    let entry = Entry {
        method: method.clone(),
        path: path.to_string(),
        status: response.status().as_u16(),
        started: Instant::now(),
        upstream: None,
    };
    let bytes = response.body().size_hint().exact().unwrap_or(0);
    entry.write(bytes, true);
}

/// A response body that counts what passes and logs the entry when it ends or is dropped.
pub(crate) struct Counted<B> {
    inner: B,
    entry: Option<Entry>,
    bytes: u64,
    /// The length announced up front: the server stops polling once it has sent that much.
    expected: Option<u64>,
}

impl<B: Body> Counted<B> {
    pub(crate) fn new(inner: B, entry: Entry) -> Counted<B> {
        let expected = inner.size_hint().exact();
        Counted {
            inner,
            entry: Some(entry),
            bytes: 0,
            expected,
        }
    }
}

impl<B> Counted<B> {
    fn finish(&mut self, complete: bool) {
        if let Some(entry) = self.entry.take() {
            entry.write(self.bytes, complete);
        }
    }
}

impl<B> Drop for Counted<B> {
    fn drop(&mut self) {
        // Dropped before its end, unless all the announced bytes went: the client went away, or
        // the endpoint failed mid-answer.
        let complete = self.expected.is_some_and(|n| self.bytes >= n);
        self.finish(complete);
    }
}

impl<B> Body for Counted<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes += data.len() as u64;
                }
            }
            Poll::Ready(None) => this.finish(true),
            Poll::Ready(Some(Err(_))) => this.finish(false),
            Poll::Pending => {}
        }
        if this.inner.is_end_stream() {
            this.finish(true);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
