//! The requests of the gate's connections, served in this process: hyper speaks HTTP/1.1 on
//! each connection, and every request goes to Rocket through its local client, so no byte
//! crosses a second socket on its way in or out.
//!
//! Rocket's local client takes a request's body only whole, so the body is read here, under
//! the bounds `intake` sets, before the request is dispatched. A body that breaks them is still
//! dispatched, with the failure noted on the request, so it is answered, logged, counted and
//! scored like every other refusal (see `site`).

use super::super::error::ApiError;
use super::super::intake::BodyBounds;
use super::super::site;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use rocket::http::uri::Host;
use rocket::http::{Header, Method};
use rocket::local::asynchronous::{Client, LocalResponse};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

/// An answer as hyper sends it.
type Answer = hyper::Response<BoxBody<Bytes, std::io::Error>>;

/// A streamed answer's chunks waiting for the connection: a few, so a client that stops reading
/// holds up only its own answer's producer.
const STREAM_CHUNKS: usize = 4;
/// The most a streamed answer's chunk holds.
const STREAM_CHUNK: usize = 16 * 1024;

/// Rocket, launched in this process, and the bounds on the bodies it is given.
pub(in crate::api) struct Dispatch {
    client: Client,
    bodies: BodyBounds,
}

impl Dispatch {
    pub(in crate::api) fn new(client: Client, bodies: BodyBounds) -> Dispatch {
        Dispatch { client, bodies }
    }

    pub(in crate::api) fn rocket(&self) -> &rocket::Rocket<rocket::Orbit> {
        self.client.rocket()
    }

    /// Serves the requests arriving on `io` from `client` until either side closes it.
    pub(super) async fn serve<IO>(self: Arc<Self>, io: IO, client: SocketAddr)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = hyper::service::service_fn(move |request| {
            let dispatch = self.clone();
            async move { Ok::<_, Infallible>(dispatch.answer(request, client).await) }
        });
        // The gate has checked each head and keeps the connection's deadlines. A client that
        // closes its sending side after a request still gets the answer.
        let _ = hyper::server::conn::http1::Builder::new()
            .half_close(true)
            .serve_connection(TokioIo::new(io), service)
            .await;
    }

    /// One request: its body read, then dispatched on a task of its own, since an answer's body
    /// may stream long after its head is sent and borrows from the request.
    async fn answer(
        self: Arc<Self>,
        request: hyper::Request<Incoming>,
        from: SocketAddr,
    ) -> Answer {
        let (parts, body) = request.into_parts();
        let received = self.bodies.receive(body).await;
        let (head, answer) = oneshot::channel();
        tokio::spawn(async move {
            let method = parts.method.as_str().parse::<Method>();
            let mut local = self.client.req(
                *method.as_ref().unwrap_or(&Method::Get),
                origin_of(&parts.uri),
            );
            if method.is_err() {
                // Rocket's own server refuses a method it has no name for, too.
                let error = format!("unknown method {}", parts.method);
                site::refuse_early(local.inner(), ApiError::bad_request("bad_method", error));
            }
            for (name, value) in &parts.headers {
                // Rocket takes only UTF-8 header values, as it does from its own server.
                if let Ok(value) = value.to_str() {
                    local.add_header(Header::new(name.as_str().to_owned(), value.to_owned()));
                }
            }
            let host = parts.headers.get(hyper::header::HOST);
            if let Some(host) = host.and_then(|h| h.to_str().ok()) {
                if let Ok(host) = Host::parse(host) {
                    local.inner_mut().set_host(host);
                }
            }
            let local = local.remote(from);
            let (local, _permit) = match received {
                Ok(body) => (local.body(body.bytes), body.permit),
                Err(failure) => {
                    site::refuse_early(local.inner(), failure);
                    (local, None)
                }
            };
            let response = local.dispatch().await;
            send(response, head).await;
        });
        // No answer: the task panicked outside any handler (Rocket catches handlers' panics).
        answer.await.unwrap_or_else(|_| failed())
    }
}

/// Rocket's answer, as hyper's: a sized body whole, any other streamed as it is produced.
async fn send(mut response: LocalResponse<'_>, head: oneshot::Sender<Answer>) {
    let mut answer = hyper::Response::builder().status(response.status().code);
    for header in response.headers().iter() {
        let name = HeaderName::from_bytes(header.name().as_str().as_bytes());
        let value = HeaderValue::from_str(header.value());
        if let (Ok(name), Ok(value)) = (name, value) {
            answer = answer.header(name, value);
        }
    }
    let sized = response.body().preset_size();
    if let Some(length) = sized {
        // Also for HEAD, whose body Rocket has stripped.
        answer = answer.header(hyper::header::CONTENT_LENGTH, length);
    }
    if sized.is_some() || response.body().is_none() {
        let bytes = response.into_bytes().await.unwrap_or_default();
        let body = Full::new(Bytes::from(bytes)).map_err(never).boxed();
        let _ = head.send(answer.body(body).unwrap_or_else(|_| failed()));
        return;
    }
    let (chunks, stream) = mpsc::channel(STREAM_CHUNKS);
    let stream = futures::stream::unfold(stream, |mut stream| async move {
        stream.recv().await.map(|chunk| (chunk, stream))
    });
    let body = BodyExt::boxed(StreamBody::new(stream));
    if head
        .send(answer.body(body).unwrap_or_else(|_| failed()))
        .is_err()
    {
        return;
    }
    let mut buffer = vec![0u8; STREAM_CHUNK];
    loop {
        let chunk = match response.read(&mut buffer).await {
            Ok(0) => return,
            Ok(n) => Ok(Frame::data(Bytes::copy_from_slice(&buffer[..n]))),
            Err(e) => Err(e),
        };
        let failed = chunk.is_err();
        // The connection is gone when no one receives.
        if chunks.send(chunk).await.is_err() || failed {
            return;
        }
    }
}

/// The answer when there is no other: Rocket's could not be expressed in HTTP (a header hyper
/// refuses), or the dispatch failed.
fn failed() -> Answer {
    let mut answer = hyper::Response::new(Full::default().map_err(never).boxed());
    *answer.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
    answer
}

fn never(never: Infallible) -> std::io::Error {
    match never {}
}

/// The request's path and query, the only part of its target Rocket routes on.
fn origin_of(uri: &hyper::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
}
