//! The loopback redirect of the authorization code flow: a one-shot HTTP listener on
//! 127.0.0.1 that catches `/callback?code=…&state=…` (RFC 8252 §7.3).

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::error::TppError;

/// A listener waiting for the bank's redirect.
pub struct Callback {
    listener: TcpListener,
    pub redirect_uri: String,
}

impl Callback {
    /// Listens on `127.0.0.1:port` (0 for any free port).
    pub async fn bind(port: u16) -> Result<Callback, TppError> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        Ok(Callback {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        })
    }

    /// Waits for the redirect and answers the browser; returns the query parameters.
    pub async fn wait(self, timeout: Duration) -> Result<HashMap<String, String>, TppError> {
        let waited = tokio::time::timeout(timeout, async {
            loop {
                let (mut stream, _) = self.listener.accept().await?;
                let mut buffer = vec![0u8; 16 * 1024];
                let read = stream.read(&mut buffer).await?;
                let request = String::from_utf8_lossy(&buffer[..read]).into_owned();
                let target = request.split_whitespace().nth(1).unwrap_or("").to_owned();
                let Some(query) = target.strip_prefix("/callback?") else {
                    let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
                    continue;
                };
                let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
                let text = if params.contains_key("code") {
                    "Authorization received: you can close this page and return to the application."
                } else {
                    "The bank did not grant access: you can close this page."
                };
                let page = format!("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Guichet TPP</title></head><body><p>{text}</p></body></html>");
                let answer = format!("HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}", page.len());
                let _ = stream.write_all(answer.as_bytes()).await;
                return Ok::<_, std::io::Error>(params);
            }
        })
        .await;
        match waited {
            Ok(Ok(params)) => Ok(params),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(TppError::Local("no redirect from the bank in time".into())),
        }
    }
}
