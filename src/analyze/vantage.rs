//! Where the probes reach the app from.
//!
//! Beside every probed container slim starts a second one that shares its network namespace
//! and runs `slim-sensor idle`. It answers which ports the app listens on (`slim-sensor
//! listening`, made outside the app's container, so a seccomp profile on the app cannot deny
//! it). By default the HTTP requests go through it too: each one is an attached exec of
//! `slim-sensor relay PORT`, which connects where outside clients would. Nothing is
//! published, so this works the same on a local socket, a remote engine or a rootless one.
//! `--probe-from host` instead publishes the exposed ports on the engine's 127.0.0.1 and
//! sends the requests there, which only reaches the app when the engine runs on this machine.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::inject::SENSOR_PATH;
use super::probes::ProbeFailure;
use crate::engine::{ContainerRun, ContainerSpec, Containers, EngineError, Stderr};
use crate::probe::{HttpAnswer, HttpConnection, HttpProbe, HttpProber, ProbeError};
use crate::sensor::relay::NOT_ACCEPTING;

/// The longest one probe waits for its whole answer, in the analysis and the verification.
const PROBE_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The probing container runs as nobody: it only reads /proc/net and opens connections.
const NOBODY: &str = "65534:65534";

/// Where the HTTP probes are sent from (`--probe-from`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProbeFrom {
    /// from a container in the app's network namespace: no port is published
    #[default]
    Inside,
    /// from this machine, through ports published on the engine's 127.0.0.1
    Host,
}

impl ProbeFrom {
    /// The ports a container must publish for probes from here.
    pub fn published_ports(self, ports: &[u16]) -> Vec<u16> {
        match self {
            ProbeFrom::Inside => Vec::new(),
            ProbeFrom::Host => ports.to_vec(),
        }
    }

    /// One line for people: where the probes came from.
    pub fn describe(self) -> &'static str {
        match self {
            ProbeFrom::Inside => "from inside the app's network namespace (no port published)",
            ProbeFrom::Host => "from this machine through ports published on 127.0.0.1",
        }
    }
}

/// The probing container beside one running app container.
pub struct Vantage {
    app: ContainerRun,
    from: ProbeFrom,
    beside: ContainerRun,
    /// container port → published port on 127.0.0.1 ([`ProbeFrom::Host`] only)
    published: BTreeMap<u16, u16>,
    prober: HttpProber,
    /// the last connection to each port, kept while the app keeps it open
    connections: tokio::sync::Mutex<BTreeMap<u16, HttpConnection>>,
}

/// What the probing container is made of.
pub struct VantageSpec<'a> {
    /// an image the engine has (the app's own: the sensor needs nothing from it)
    pub image: &'a str,
    /// the tar that puts the sensor at [`SENSOR_PATH`]
    pub sensor: &'a [u8],
    pub labels: HashMap<String, String>,
    pub from: ProbeFrom,
    /// the app's ports (published ones are looked up for [`ProbeFrom::Host`])
    pub ports: &'a [u16],
}

impl Vantage {
    /// Start the probing container beside `app`, which must be running: if the app has
    /// already exited, that is the answer.
    pub async fn open(
        engine: &impl Containers,
        app: &ContainerRun,
        spec: VantageSpec<'_>,
    ) -> Result<Vantage, ProbeFailure> {
        let container = ContainerSpec {
            image: spec.image.to_string(),
            entrypoint: Some(vec![SENSOR_PATH.to_string(), "idle".to_string()]),
            cmd: Some(Vec::new()),
            user: Some(NOBODY.to_string()),
            working_dir: Some("/".to_string()),
            labels: spec.labels,
            network_of: Some(app.id.clone()),
            no_healthcheck: true,
            ..ContainerSpec::default()
        };
        let beside = engine.create_container(container).await?;
        let started = async {
            engine
                .upload_tar(&beside, "/", spec.sensor.to_vec())
                .await?;
            engine.start(&beside).await
        }
        .await;
        if let Err(error) = started {
            engine.remove_container(&beside).await?;
            let state = engine.state(app).await?;
            if !state.running {
                return Err(ProbeFailure::AppExited {
                    code: state.exit_code.unwrap_or(-1),
                });
            }
            return Err(error.into());
        }
        let mut published = BTreeMap::new();
        if spec.from == ProbeFrom::Host {
            for &port in spec.ports {
                if let Some(host_port) = engine.host_port(app, port).await? {
                    published.insert(port, host_port);
                }
            }
        }
        Ok(Vantage {
            app: app.clone(),
            from: spec.from,
            beside,
            published,
            prober: HttpProber::new(PROBE_REQUEST_TIMEOUT),
            connections: tokio::sync::Mutex::default(),
        })
    }

    pub fn from(&self) -> ProbeFrom {
        self.from
    }

    /// The app container this probes.
    pub fn app(&self) -> &ContainerRun {
        &self.app
    }

    /// TCP ports something listens on in the app's network namespace; `None` when that
    /// cannot be known (the probing container is gone with the app's network).
    pub async fn listening_ports(
        &self,
        engine: &impl Containers,
    ) -> Result<Option<BTreeSet<u16>>, EngineError> {
        let argv = [SENSOR_PATH.to_string(), "listening".to_string()];
        let Ok(output) = engine.exec(&self.beside, &argv, None).await else {
            // The app may have exited between two checks; its state tells the caller.
            return Ok(None);
        };
        if output.exit_code != 0 {
            return Ok(None);
        }
        Ok(Some(
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter_map(|line| line.trim().parse().ok())
                .collect(),
        ))
    }

    /// Send one probe to the app's `port`, over the connection the last probe left open if
    /// the app kept it, else over a new one.
    pub async fn send(
        &self,
        engine: &impl Containers,
        port: u16,
        probe: &HttpProbe,
    ) -> Result<HttpAnswer, ProbeError> {
        let kept = self.connections.lock().await.remove(&port);
        if let Some(mut connection) = kept.filter(HttpConnection::is_open) {
            // An app may close an idle connection just as a request goes out on it; then a
            // new connection decides.
            if let Ok(answer) = self.prober.send(&mut connection, probe).await {
                self.keep(port, connection).await;
                return Ok(answer);
            }
        }
        let (mut connection, relay_said) = self.connect(engine, port).await?;
        match self.prober.send(&mut connection, probe).await {
            Ok(answer) => {
                self.keep(port, connection).await;
                Ok(answer)
            }
            Err(ProbeError::NotReady(reason)) => Err(relay_said
                .and_then(|said| relay_failure(&said.text()))
                .unwrap_or(ProbeError::NotReady(reason))),
            Err(other) => Err(other),
        }
    }

    async fn keep(&self, port: u16, connection: HttpConnection) {
        if connection.is_open() {
            self.connections.lock().await.insert(port, connection);
        }
    }

    /// A new connection to the app's `port`, and for a relayed one what the relay says.
    async fn connect(
        &self,
        engine: &impl Containers,
        port: u16,
    ) -> Result<(HttpConnection, Option<Stderr>), ProbeError> {
        match self.from {
            ProbeFrom::Host => {
                let Some(&host_port) = self.published.get(&port) else {
                    return Err(ProbeError::Refused(format!(
                        "port {port} was not published on 127.0.0.1"
                    )));
                };
                let connection = self.prober.connect_to_local_port(host_port).await?;
                Ok((connection, None))
            }
            ProbeFrom::Inside => {
                let argv = [
                    SENSOR_PATH.to_string(),
                    "relay".to_string(),
                    port.to_string(),
                ];
                let relay = engine
                    .exec_stream(&self.beside, &argv)
                    .await
                    .map_err(|e| ProbeError::NotReady(e.to_string()))?;
                let authority = format!("127.0.0.1:{port}");
                let connection = self.prober.connect(relay.io, &authority).await?;
                Ok((connection, Some(relay.stderr)))
            }
        }
    }

    /// Close the connections and remove the probing container.
    pub async fn close(self, engine: &impl Containers) -> Result<(), EngineError> {
        self.connections.lock().await.clear();
        engine.remove_container(&self.beside).await
    }
}

/// The relay's own failure, when it wrote one: a refused connection is its own kind.
fn relay_failure(stderr: &str) -> Option<ProbeError> {
    let line = stderr.lines().find(|l| l.starts_with("slim-sensor: "))?;
    let text = line.trim_start_matches("slim-sensor: ").to_string();
    Some(if text.starts_with(NOT_ACCEPTING) {
        ProbeError::Refused(text)
    } else {
        ProbeError::NotReady(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_origin_is_named_as_the_flag_and_the_report_name_it() {
        use clap::ValueEnum;
        for from in [ProbeFrom::Inside, ProbeFrom::Host] {
            let name = from.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(ProbeFrom::from_str(&name, false), Ok(from));
            assert_eq!(serde_json::to_string(&from).unwrap(), format!("\"{name}\""));
        }
        assert!(ProbeFrom::from_str("remote", false).is_err());
        assert_eq!(ProbeFrom::default(), ProbeFrom::Inside);
        assert_eq!(
            serde_json::to_string(&ProbeFrom::Inside).unwrap(),
            "\"inside\""
        );
    }

    #[test]
    fn only_host_probing_publishes() {
        assert!(ProbeFrom::Inside.published_ports(&[80, 443]).is_empty());
        assert_eq!(ProbeFrom::Host.published_ports(&[80, 443]), [80, 443]);
    }

    #[test]
    fn a_refusing_relay_is_told_apart() {
        let refused = relay_failure(
            "slim-sensor: nothing accepts connections on 172.17.0.3:80: Connection refused (os error 111)",
        );
        assert_eq!(
            refused,
            Some(ProbeError::Refused(
                "nothing accepts connections on 172.17.0.3:80: Connection refused (os error 111)"
                    .into()
            ))
        );
        assert!(matches!(
            relay_failure("slim-sensor: Broken pipe"),
            Some(ProbeError::NotReady(_))
        ));
        assert_eq!(relay_failure(""), None);
    }
}
