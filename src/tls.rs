//! TLS for slim's HTTP clients: rustls with the ring provider, installed once per process
//! (reqwest is built without a provider of its own).

/// Install ring as the process's rustls provider; later calls do nothing.
pub fn install_crypto_provider() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // Err means another provider is already installed, which serves as well. ring lacks
        // the post-quantum key exchange (hence deprecated) but builds without cmake and
        // links statically; registries all speak the classical groups.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
