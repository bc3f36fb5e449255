"""Start a TLS server on loopback, then connect to it as a client that trusts only the system
CA bundle, and print what was verified."""

import socket
import ssl
import threading

HOST, PORT = "127.0.0.1", 8443


def serve(ready):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain("/app/server.crt", "/app/server.key")
    with socket.create_server((HOST, PORT)) as listener:
        ready.set()
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(64)
            tls.sendall(b"hello over verified TLS\n")


ready = threading.Event()
threading.Thread(target=serve, args=(ready,), daemon=True).start()
ready.wait()

client = ssl.create_default_context()  # the system trust store, nothing else
with socket.create_connection((HOST, PORT)) as raw:
    with client.wrap_socket(raw, server_hostname="slim-example.test") as tls:
        tls.sendall(b"hi")
        answer = tls.recv(64).decode().strip()
        subject = dict(item[0] for item in tls.getpeercert()["subject"])
        issuer = dict(item[0] for item in tls.getpeercert()["issuer"])
        print(f"verified {subject['commonName']} issued by {issuer['commonName']} ({tls.version()})")
print(answer)
