//! An axum server on a thread of its own, with its own tokio runtime, stopped gracefully.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use axum::Router;
use tokio::sync::oneshot;

pub struct HttpServer {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Serves `app` on `listener` (already bound, so a busy port fails the caller at once)
    /// with `runtime`, on a thread named `name`. Handlers see the peer address
    /// (`ConnectInfo<SocketAddr>`).
    pub fn spawn(
        name: &str,
        runtime: tokio::runtime::Runtime,
        listener: std::net::TcpListener,
        app: Router,
    ) -> std::io::Result<HttpServer> {
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let label = name.to_string();
        let thread = std::thread::Builder::new().name(name.into()).spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => listener,
                    Err(error) => return tracing::error!("{label} listener: {error}"),
                };
                let service = app.into_make_service_with_connect_info::<SocketAddr>();
                let shutdown = async move {
                    let _ = stopped.await;
                };
                if let Err(error) = axum::serve(listener, service).with_graceful_shutdown(shutdown).await {
                    tracing::error!("{label}: {error}");
                }
            })
        })?;
        Ok(HttpServer { address, stop: Some(stop), thread: Some(thread) })
    }

    /// Where it listens (the port is resolved if 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, lets requests in flight finish, and joins the thread.
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop_now();
    }
}
