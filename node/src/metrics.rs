//! `/metrics`: the pipeline's numbers in Prometheus text. The runtime keeps its own atomics
//! and HDR histograms; each scrape copies them into a Prometheus recorder of this node's
//! own (not the process-global one, so several nodes can live in one test process).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use cex_engine::{CommandKind, EventBody};
use cex_gateway::GatewayStats;
use cex_history::HistoryProgress;
use cex_runtime::{monotonic_ns, EngineState, Monitor, Stage};
use cex_trading::SharedReadModel;
use metrics::{counter, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

const QUANTILES: [(f64, &str); 4] = [(0.5, "0.5"), (0.99, "0.99"), (0.999, "0.999"), (1.0, "1")];

pub struct MetricsRenderer {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    monitor: Monitor,
    gateway: Arc<GatewayStats>,
    read_model: Arc<SharedReadModel>,
    /// The history writer's progress; `None` when it does not run (durability none).
    history: Option<Arc<HistoryProgress>>,
    /// (busy ns, monotonic ns) at the previous scrape, for the busy ratio between scrapes.
    previous: Mutex<(u64, u64)>,
}

impl MetricsRenderer {
    pub fn new(
        monitor: Monitor,
        gateway: Arc<GatewayStats>,
        read_model: Arc<SharedReadModel>,
        history: Option<Arc<HistoryProgress>>,
    ) -> MetricsRenderer {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let started = monitor.stats().started_ns;
        MetricsRenderer { recorder, handle, monitor, gateway, read_model, history, previous: Mutex::new((0, started)) }
    }

    pub fn render(&self) -> String {
        metrics::with_local_recorder(&self.recorder, || {
            self.engine();
            self.commands_and_events();
            self.rings_and_consumers();
            self.latencies();
            self.gateway();
            self.projections();
        });
        self.handle.render()
    }

    fn engine(&self) {
        let stats = self.monitor.stats();
        gauge!("cex_engine_up").set(f64::from(u8::from(stats.state() == EngineState::Running)));
        gauge!("cex_journal_sequence").set(self.monitor.published_seq() as f64);
        gauge!("cex_durable_sequence").set(self.monitor.durable_seq() as f64);
        let busy_ns = stats.busy_ns.load(Ordering::Relaxed);
        counter!("cex_engine_busy_nanoseconds_total").absolute(busy_ns);
        let now = monotonic_ns();
        let mut previous = self.previous.lock().expect("metrics lock");
        let (busy_before, at_before) = *previous;
        let elapsed = now.saturating_sub(at_before).max(1);
        gauge!("cex_engine_busy_ratio").set(busy_ns.saturating_sub(busy_before) as f64 / elapsed as f64);
        *previous = (busy_ns, now);
    }

    fn commands_and_events(&self) {
        let stats = self.monitor.stats();
        for (kind, count) in CommandKind::ALL.iter().zip(&stats.commands_by_kind) {
            counter!("cex_commands_total", "kind" => kind.name()).absolute(count.load(Ordering::Relaxed));
        }
        for (name, count) in EventBody::NAMES.iter().zip(&stats.events_by_kind) {
            counter!("cex_events_total", "kind" => *name).absolute(count.load(Ordering::Relaxed));
        }
        for (reason, count) in stats.rejects() {
            counter!("cex_rejects_total", "reason" => reason.name(), "code" => reason.code().to_string())
                .absolute(count);
        }
    }

    fn rings_and_consumers(&self) {
        let stats = self.monitor.stats();
        for producer in &stats.producers {
            let labels = [("ring", "input".to_string()), ("name", producer.name.clone())];
            gauge!("cex_ring_used_slots", &labels).set(producer.ring_used.load(Ordering::Relaxed) as f64);
            gauge!("cex_ring_capacity_slots", &labels).set(producer.ring_capacity as f64);
            counter!("cex_producer_busy_total", "producer" => producer.name.clone())
                .absolute(producer.busy.load(Ordering::Relaxed));
        }
        let published = self.monitor.published_seq();
        for consumer in &stats.consumers {
            let labels = [("ring", "output".to_string()), ("name", consumer.name.clone())];
            gauge!("cex_ring_used_slots", &labels).set(consumer.ring_used.load(Ordering::Relaxed) as f64);
            gauge!("cex_ring_capacity_slots", &labels).set(consumer.ring_capacity as f64);
            let name = consumer.name.clone();
            let lag = published.saturating_sub(consumer.position.load(Ordering::Acquire));
            gauge!("cex_consumer_lag_commands", "consumer" => name.clone()).set(lag as f64);
            counter!("cex_consumer_overruns_total", "consumer" => name.clone())
                .absolute(consumer.overruns.load(Ordering::Relaxed));
            counter!("cex_consumer_journal_reads_total", "consumer" => name)
                .absolute(consumer.journal_reads.load(Ordering::Relaxed));
        }
    }

    /// Percentiles since start, from the runtime's HDR histograms.
    fn latencies(&self) {
        let histograms = self.monitor.stats().latencies.lock().expect("latency lock");
        for stage in Stage::ALL {
            let histogram = histograms.get(stage);
            counter!("cex_latency_samples_total", "stage" => stage.name()).absolute(histogram.len());
            for (quantile, label) in QUANTILES {
                let value = if histogram.is_empty() { 0 } else { histogram.value_at_quantile(quantile) };
                gauge!("cex_latency_nanoseconds", "stage" => stage.name(), "quantile" => label).set(value as f64);
            }
        }
    }

    /// How far the trading read model has got: its applied sequence, and how many published
    /// commands it has still to apply (large while it replays the journal at start, and
    /// growing if its thread has stopped).
    fn projections(&self) {
        let applied = self.read_model.applied_seq();
        gauge!("cex_projection_sequence").set(applied as f64);
        let lag = self.monitor.published_seq().saturating_sub(applied);
        gauge!("cex_projection_lag_commands").set(lag as f64);
        self.history();
    }

    /// How far the persisted history has got: the last command committed to the store, and
    /// how many published commands it has still to write.
    fn history(&self) {
        let Some(history) = &self.history else { return };
        let committed = history.committed_seq.load(Ordering::Acquire);
        gauge!("cex_history_sequence").set(committed as f64);
        let lag = self.monitor.published_seq().saturating_sub(committed);
        gauge!("cex_history_lag_commands").set(lag as f64);
        counter!("cex_history_failed_commits_total").absolute(history.failed_commits.load(Ordering::Relaxed));
        gauge!("cex_history_up").set(f64::from(u8::from(!history.stopped.load(Ordering::Acquire))));
    }

    fn gateway(&self) {
        let stats = &self.gateway;
        let totals = [
            ("cex_gateway_connections_total", &stats.connections),
            ("cex_gateway_logons_accepted_total", &stats.logons_accepted),
            ("cex_gateway_messages_in_total", &stats.messages_in),
            ("cex_gateway_commands_submitted_total", &stats.commands_submitted),
            ("cex_gateway_bytes_out_total", &stats.bytes_out),
            ("cex_gateway_retransmitted_total", &stats.retransmitted),
            ("cex_gateway_cancel_on_disconnect_total", &stats.cancel_on_disconnect),
        ];
        for (name, value) in totals {
            counter!(name).absolute(value.load(Ordering::Relaxed));
        }
        gauge!("cex_gateway_sessions").set(stats.sessions_open.load(Ordering::Relaxed) as f64);
        for (reason, count) in stats.logon_rejects() {
            counter!("cex_gateway_logon_rejects_total", "reason" => reason.name()).absolute(count);
        }
        for (reason, count) in stats.session_rejects() {
            counter!("cex_gateway_session_rejects_total", "reason" => reason.name()).absolute(count);
        }
        for (reason, count) in stats.logouts() {
            counter!("cex_gateway_logouts_total", "reason" => reason.name()).absolute(count);
        }
    }
}
