//! The binary gateway inside a node: its settings from `[gateway]`, its rings, and logons
//! checked against the identity store's API keys on the REST runtime.

use std::sync::Arc;
use std::time::Duration;

use cex_config::{GatewayIdle, NodeConfig};
use cex_gateway::{
    GatewayConfig, LogonGrant, LogonRefusal, LogonRequest, LogonVerifier, ShardIdle, ShardRings, VerifyFuture,
};
use cex_gateway_protocol::codec::{KeyPermissions, LogonRejectReason};
use cex_identity::{ApiError, ErrorCode, Identity, KeyGrant, Permission};
use cex_runtime::{RuntimeBuilder, RuntimeError};

/// `[gateway]` and `network.gateway_port` as the gateway takes them.
pub fn gateway_config(config: &NodeConfig) -> GatewayConfig {
    let settings = &config.gateway;
    let shards = match settings.cores.as_slice() {
        [] => vec![None; settings.shards],
        cores => cores.iter().copied().map(Some).collect(),
    };
    let idle = match settings.idle {
        GatewayIdle::Spin => ShardIdle::Spin,
        GatewayIdle::Sleep => {
            ShardIdle::Sleep { spins: settings.idle_spins, sleep: Duration::from_micros(settings.idle_sleep_us) }
        }
    };
    GatewayConfig {
        listen: config.network.gateway_addr(),
        shards,
        max_sessions: settings.max_sessions,
        max_frame_length: settings.max_frame_bytes,
        rate_per_second: settings.rate_per_second,
        rate_burst: settings.rate_burst,
        max_in_flight: settings.max_in_flight,
        heartbeat_ms: settings.heartbeat_min_ms..=settings.heartbeat_max_ms,
        logon_timeout: Duration::from_millis(settings.logon_timeout_ms),
        retransmit_max: settings.retransmit_max,
        max_outbound_bytes: settings.max_outbound_kb << 10,
        idle,
    }
}

/// A producer and a consumer per shard. In `fsync` mode the gateway acknowledges only what is
/// on stable storage.
pub fn register_rings(builder: &mut RuntimeBuilder, config: &NodeConfig) -> Result<Vec<ShardRings>, RuntimeError> {
    let options = crate::consumer_options(config, None);
    (0..config.gateway.shards)
        .map(|shard| {
            let name = format!("gateway-{shard}");
            let producer = builder.producer(&name)?;
            Ok(ShardRings { producer, consumer: builder.consumer(&name, options) })
        })
        .collect()
}

/// Checks logons with [`Identity::verify_logon`] on the REST runtime: the gateway shards
/// only await the answer.
pub struct IdentityVerifier {
    pub identity: Arc<Identity>,
    pub runtime: tokio::runtime::Handle,
}

impl LogonVerifier for IdentityVerifier {
    fn verify(&self, request: LogonRequest) -> VerifyFuture {
        let identity = self.identity.clone();
        let timestamp = i64::try_from(request.timestamp_ms).unwrap_or(i64::MAX);
        let verifying = self.runtime.spawn(async move {
            let ip = Some(request.peer.ip());
            identity.verify_logon(&request.api_key, timestamp, request.nonce, &request.signature, ip).await
        });
        Box::pin(async move {
            match verifying.await {
                Ok(Ok(grant)) => Ok(logon_grant(&grant)),
                Ok(Err(error)) => Err(logon_refusal(&error)),
                Err(_) => Err(LogonRefusal::new(LogonRejectReason::Unavailable, "the key store is shutting down")),
            }
        })
    }
}

fn logon_grant(grant: &KeyGrant) -> LogonGrant {
    let bits = [
        (Permission::Read, KeyPermissions::READ),
        (Permission::Trade, KeyPermissions::TRADE),
        (Permission::Withdraw, KeyPermissions::WITHDRAW),
        (Permission::Transfer, KeyPermissions::TRANSFER),
    ];
    let permissions = bits
        .into_iter()
        .filter(|(permission, _)| grant.permissions.contains(*permission))
        .fold(KeyPermissions::NONE, |set, (_, bit)| set.with(bit));
    LogonGrant { account: grant.engine_account, permissions }
}

fn logon_refusal(error: &ApiError) -> LogonRefusal {
    let reason = match error.code {
        ErrorCode::InvalidApiKey => LogonRejectReason::UnknownApiKey,
        ErrorCode::InvalidSignature => LogonRejectReason::InvalidSignature,
        ErrorCode::StaleTimestamp => LogonRejectReason::StaleTimestamp,
        ErrorCode::ReplayedRequest => LogonRejectReason::ReplayedLogon,
        ErrorCode::IpNotAllowed => LogonRejectReason::IpNotAllowed,
        ErrorCode::AccountDisabled => LogonRejectReason::PermissionDenied,
        _ => LogonRejectReason::Unavailable,
    };
    LogonRefusal::new(reason, error.msg.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[gateway]`'s defaults are the gateway crate's: the two lists cannot drift apart.
    #[test]
    fn the_default_settings_are_the_gateways_defaults() {
        let config = NodeConfig::default();
        let expected = GatewayConfig { listen: config.network.gateway_addr(), ..GatewayConfig::default() };
        assert_eq!(gateway_config(&config), expected);
    }

    #[test]
    fn cores_pin_the_shards() {
        let config = NodeConfig::parse("[gateway]\nshards = 2\ncores = [0, 1]\nidle = \"spin\"\n").unwrap();
        let gateway = gateway_config(&config);
        assert_eq!(gateway.shards, vec![Some(0), Some(1)]);
        assert_eq!(gateway.idle, ShardIdle::Spin);
    }

    #[test]
    fn identity_errors_become_logon_reject_reasons() {
        let reason = |code| logon_refusal(&ApiError::new(code)).reason;
        assert_eq!(reason(ErrorCode::InvalidApiKey), LogonRejectReason::UnknownApiKey);
        assert_eq!(reason(ErrorCode::ReplayedRequest), LogonRejectReason::ReplayedLogon);
        assert_eq!(reason(ErrorCode::StaleTimestamp), LogonRejectReason::StaleTimestamp);
        assert_eq!(reason(ErrorCode::ReplayCacheFull), LogonRejectReason::Unavailable);
    }
}
