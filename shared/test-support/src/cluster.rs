//! A 3-node JetStream cluster on loopback, for the tests that are about clustering: each
//! node has its own `server_name`, store and client, cluster and monitoring ports, and
//! routes to the other two (`cluster_name` shared). Nodes can be SIGKILLed and restarted
//! on the same ports and store, and the cluster says which node leads a stream or the
//! JetStream meta group, so a test can kill exactly the node that matters.

use crate::nats::{NatsServer, free_port};
use std::time::{Duration, Instant};
use switchboard_bus::async_nats;

#[derive(Debug)]
pub struct NatsCluster {
    nodes: Vec<NatsServer>,
    monitor_ports: Vec<u16>,
}

impl NatsCluster {
    /// Starts `size` nodes (3 for the tests) and waits until JetStream has a meta leader.
    pub async fn start(size: usize) -> Self {
        let client_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let cluster_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let monitor_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let nodes = (0..size)
            .map(|i| {
                let routes = cluster_ports
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, p)| format!("nats://127.0.0.1:{p}"))
                    .collect::<Vec<_>>()
                    .join(",");
                let args = [
                    "--server_name".to_owned(),
                    Self::name(i),
                    "--cluster_name".into(),
                    "switchboard-test".into(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{}", cluster_ports[i]),
                    "--routes".into(),
                    routes,
                    "-m".into(),
                    monitor_ports[i].to_string(),
                ];
                NatsServer::start_with(client_ports[i], args.to_vec())
            })
            .collect();
        let cluster = Self {
            nodes,
            monitor_ports,
        };
        cluster.wait_for_jetstream().await;
        cluster
    }

    /// `n1`, `n2`, … (the `server_name` of node `i`).
    pub fn name(i: usize) -> String {
        format!("n{}", i + 1)
    }

    /// Every node's URL, comma-separated: what `nats.url` takes.
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn node(&mut self, i: usize) -> &mut NatsServer {
        &mut self.nodes[i]
    }

    /// A client that knows every node (it fails over as the services do).
    pub async fn client(&self) -> async_nats::Client {
        let servers: Vec<async_nats::ServerAddr> = self
            .nodes
            .iter()
            .map(|n| n.url().parse().expect("node URL"))
            .collect();
        async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(servers)
            .await
            .expect("connect to the test cluster")
    }

    /// Waits (30 s at most) until JetStream answers through the cluster: a meta leader is
    /// elected and streams can be created.
    pub async fn wait_for_jetstream(&self) {
        let client = self.client().await;
        let js = async_nats::jetstream::new(client);
        let deadline = Instant::now() + Duration::from_secs(30);
        while js.query_account().await.is_err() {
            assert!(
                Instant::now() < deadline,
                "the test cluster has no JetStream meta leader after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The index of the node leading `stream`'s replica group.
    /// Waits (30 s at most) for one to be elected.
    pub async fn stream_leader(&self, stream: &str) -> usize {
        let info = self
            .stream_info_when(stream, 30, "has no leader", |info| {
                info.cluster.as_ref().is_some_and(|c| c.leader.is_some())
            })
            .await;
        let leader = info.cluster.and_then(|c| c.leader).unwrap_or_default();
        self.index_of(&leader)
    }

    /// The index of the JetStream meta leader (from a live node's `/jsz`).
    pub async fn meta_leader(&self) -> usize {
        let http = crate::http_client();
        for (i, port) in self.monitor_ports.iter().enumerate() {
            if !self.nodes[i].is_running() {
                continue;
            }
            let Ok(response) = http
                .get(format!("http://127.0.0.1:{port}/jsz"))
                .send()
                .await
            else {
                continue;
            };
            let Ok(jsz) = response.json::<serde_json::Value>().await else {
                continue;
            };
            if let Some(leader) = jsz["meta_cluster"]["leader"].as_str() {
                return self.index_of(leader);
            }
        }
        panic!("no live node knows the meta leader")
    }

    /// Waits (60 s at most) until every replica of `stream` is current (a restarted node
    /// has caught up); returns the leader's message count.
    pub async fn wait_until_current(&self, stream: &str) -> u64 {
        let nodes = self.nodes.len();
        let info = self
            .stream_info_when(stream, 60, "a replica is still not current", |info| {
                info.cluster.as_ref().is_some_and(|c| {
                    c.replicas.len() + 1 == nodes
                        && c.replicas.iter().all(|r| r.current && !r.offline)
                })
            })
            .await;
        info.state.messages
    }

    /// `stream`'s info once `wanted` holds for it, asked every 200 ms for `secs` seconds;
    /// fails the test with `{stream}: {what}` otherwise.
    async fn stream_info_when(
        &self,
        stream: &str,
        secs: u64,
        what: &str,
        wanted: impl Fn(&async_nats::jetstream::stream::Info) -> bool,
    ) -> async_nats::jetstream::stream::Info {
        let js = async_nats::jetstream::new(self.client().await);
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(mut s) = js.get_stream(stream).await
                && let Ok(info) = s.info().await
                && wanted(info)
            {
                return info.clone();
            }
            assert!(Instant::now() < deadline, "{stream}: {what} after {secs} s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn index_of(&self, name: &str) -> usize {
        (0..self.nodes.len())
            .find(|i| Self::name(*i) == name)
            .unwrap_or_else(|| panic!("{name} is not a node of the test cluster"))
    }
}
