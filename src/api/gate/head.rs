//! The request head as the gate reads it: where it ends, whether hyper would take it, how its
//! body is framed, and the refusal it gets if not.

use rocket::http::Status;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The longest request head taken: far above any request of the API, far below hyper's own
/// limit, so every head hyper could refuse for its size is refused here first.
pub(super) const MAX_HEAD: usize = 16 * 1024;
/// The most headers in one request (hyper's limit is 100).
pub(super) const MAX_HEADERS: usize = 64;

/// How a request's body is framed.
pub(super) enum Body {
    Length(u64),
    Chunked,
}

/// A head the gate refuses, with the answer it gets.
pub(super) struct HeadRefusal {
    pub(super) status: Status,
    pub(super) code: &'static str,
    pub(super) message: String,
}

impl HeadRefusal {
    pub(super) fn bad(message: String) -> HeadRefusal {
        HeadRefusal {
            status: Status::BadRequest,
            code: "bad_request",
            message,
        }
    }

    pub(super) fn timeout() -> HeadRefusal {
        HeadRefusal {
            status: Status::RequestTimeout,
            code: "request_timeout",
            message: "the request head did not arrive in time".to_owned(),
        }
    }

    /// A head past [`MAX_HEAD`]: its request line alone (414), or its headers (431).
    pub(super) fn too_long(buffer: &[u8]) -> HeadRefusal {
        let line_ends = buffer.windows(2).any(|w| w == b"\r\n");
        match line_ends {
            false => HeadRefusal {
                status: Status::UriTooLong,
                code: "uri_too_long",
                message: format!("the request line is longer than {MAX_HEAD} bytes"),
            },
            true => HeadRefusal {
                status: Status::RequestHeaderFieldsTooLarge,
                code: "headers_too_large",
                message: format!("the request headers are longer than {MAX_HEAD} bytes"),
            },
        }
    }
}

/// The end of the head (just past its blank line) in `buffer`, searching from `from`.
pub(super) fn find_head_end(buffer: &[u8], from: usize) -> Option<usize> {
    buffer[from..]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| from + at + 4)
}

/// Reads what the socket has into the end of `buffer`.
pub(super) async fn read_more<R: AsyncRead + Unpin>(
    from: &mut R,
    buffer: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut chunk = [0u8; 4096];
    let n = from.read(&mut chunk).await?;
    buffer.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Checks a whole head with httparse (hyper's own parser) and tells how its body is framed.
pub(super) fn framing(head: &[u8]) -> Result<Body, HeadRefusal> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(HeadRefusal::bad(
                "the request head is incomplete".to_owned(),
            ))
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HeadRefusal {
                status: Status::RequestHeaderFieldsTooLarge,
                code: "headers_too_large",
                message: format!("a request takes at most {MAX_HEADERS} headers"),
            })
        }
        Err(e) => return Err(HeadRefusal::bad(format!("malformed request: {e}"))),
    }
    // httparse takes some targets hyper's URI parser refuses (a backquote, say).
    let target = request.path.unwrap_or_default();
    if hyper::Uri::try_from(target).is_err() {
        return Err(HeadRefusal::bad(format!(
            "the request target {target:?} is not a valid URI"
        )));
    }
    let named = |name: &'static str| {
        request
            .headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    if named("transfer-encoding").next().is_some() {
        return Ok(Body::Chunked);
    }
    let mut lengths = named("content-length");
    let length = match (lengths.next(), lengths.next()) {
        (None, _) => 0,
        (Some(value), None) => std::str::from_utf8(value)
            .ok()
            .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| HeadRefusal::bad("Content-Length is not a number".to_owned()))?,
        (Some(_), Some(_)) => {
            return Err(HeadRefusal::bad("Content-Length is given twice".to_owned()))
        }
    };
    Ok(Body::Length(length))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_ends_at_its_blank_line_even_when_it_arrives_in_pieces() {
        let head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nnext";
        assert_eq!(find_head_end(head, 0), Some(head.len() - 4));
        assert_eq!(find_head_end(&head[..20], 0), None);
        // Searching from three bytes before the previous end still finds a split `\r\n\r\n`.
        assert_eq!(find_head_end(head, 23), Some(head.len() - 4));
    }

    #[test]
    fn framing_reads_the_body_length_and_refuses_what_hyper_would() {
        let length = |head: &str| match framing(head.as_bytes()) {
            Ok(Body::Length(n)) => Ok(Some(n)),
            Ok(Body::Chunked) => Ok(None),
            Err(refusal) => Err(refusal.status.code),
        };
        assert_eq!(length("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), Ok(Some(0)));
        assert_eq!(
            length("POST /mine HTTP/1.1\r\ncontent-length: 12\r\n\r\n"),
            Ok(Some(12))
        );
        assert_eq!(
            length("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Ok(None)
        );
        assert_eq!(
            length("GET / HTTP/1.1\r\ncontent-length: -1\r\n\r\n"),
            Err(400)
        );
        assert_eq!(
            length("GET / HTTP/1.1\r\ncontent-length: +1\r\n\r\n"),
            Err(400)
        );
        assert_eq!(
            length("GET / HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 1\r\n\r\n"),
            Err(400)
        );
        assert_eq!(length("NOT A REQUEST\r\n\r\n"), Err(400));
        assert_eq!(length("GET / HTTP/1.0\r\n\r\n"), Ok(Some(0)));
        let many: String = (0..MAX_HEADERS + 1)
            .map(|i| format!("x-{i}: y\r\n"))
            .collect();
        assert_eq!(length(&format!("GET / HTTP/1.1\r\n{many}\r\n")), Err(431));
    }

    #[test]
    fn an_overlong_head_is_a_long_uri_or_long_headers() {
        let uri = vec![b'a'; MAX_HEAD + 1];
        assert_eq!(HeadRefusal::too_long(&uri).status.code, 414);
        let mut headers = b"GET / HTTP/1.1\r\n".to_vec();
        headers.extend(vec![b'a'; MAX_HEAD]);
        assert_eq!(HeadRefusal::too_long(&headers).status.code, 431);
    }
}
