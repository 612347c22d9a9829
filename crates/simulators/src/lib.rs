pub mod cybersource;
pub mod faults;
pub mod google;
pub mod hubspot;
pub mod openedx;
pub mod recaptcha;
pub mod smtp;
pub mod vendor_reports;

/// Serves a router (a simulator, or Registrar itself in a test) on a loopback port in the
/// background; its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("a bound address"));
    tokio::spawn(
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .into_future(),
    );
    url
}
