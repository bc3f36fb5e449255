//! `slim-sensor relay PORT`: one TCP connection to the app, piped through stdin and stdout.
//!
//! slim runs it with an attached `exec` in a container that shares the app container's
//! network namespace, and speaks HTTP over the exec's streams: the probes reach the app the
//! way outside clients do, while no port is published, whichever machine the engine is on.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpStream};

use nix::net::if_::InterfaceFlags;

/// How `slim-sensor relay` begins its message when nothing accepts its connection; slim
/// tells that failure from others by it.
pub const NOT_ACCEPTING: &str = "nothing accepts connections on";

/// The address outside clients reach the app at: the first non-loopback IPv4 address of
/// this network namespace (where the engine forwards published ports), else loopback.
/// Probing there, not at 127.0.0.1, keeps an app that listens on loopback only from
/// passing probes that no real client could send.
pub fn app_address(port: u16) -> SocketAddr {
    let ip = nix::ifaddrs::getifaddrs()
        .into_iter()
        .flatten()
        .filter(|i| {
            i.flags.contains(InterfaceFlags::IFF_UP)
                && !i.flags.contains(InterfaceFlags::IFF_LOOPBACK)
        })
        .find_map(|i| Some(i.address?.as_sockaddr_in()?.ip()))
        .unwrap_or(Ipv4Addr::LOCALHOST);
    SocketAddr::new(IpAddr::V4(ip), port)
}

/// Copy `input` to the connection and the connection to `output` until the app closes it.
/// The end of `input` is passed on as a half-close, so a request can be read to its end.
pub fn relay<R, W>(connection: TcpStream, mut input: R, mut output: W) -> io::Result<()>
where
    R: Read + Send + 'static,
    W: Write,
{
    let mut to_app = connection.try_clone()?;
    // Detached: when the app has answered, slim may keep its end open; the process ends anyway.
    std::thread::spawn(move || {
        let _ = io::copy(&mut input, &mut to_app);
        let _ = to_app.shutdown(Shutdown::Write);
    });
    let mut from_app = connection;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match from_app.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // The app reset the connection: what it sent is all there is.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(()),
            Err(e) => return Err(e),
        };
        output.write_all(&buffer[..n])?;
        output.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn pipes_a_request_and_its_answer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            socket.read_to_end(&mut request).unwrap();
            socket.write_all(b"got: ").unwrap();
            socket.write_all(&request).unwrap();
        });
        let mut answer = Vec::new();
        let connection = TcpStream::connect(address).unwrap();
        relay(connection, io::Cursor::new(b"ping".to_vec()), &mut answer).unwrap();
        server.join().unwrap();
        assert_eq!(answer, b"got: ping");
    }

    #[test]
    fn the_app_address_has_the_port() {
        let address = app_address(8080);
        assert_eq!(address.port(), 8080);
        assert!(address.is_ipv4());
    }
}
