//! Running the simulator as an HTTP server.

use std::{net::SocketAddr, sync::Arc};

use axum::Router;
use tokio::net::TcpListener;
use tokio_util_like::CancelOnDrop;

use crate::{DeviceSender, SimConfig, SimError, SimState, control::Control, gateway};

mod tokio_util_like {
    /// Stops the server when the simulator is dropped.
    pub(crate) struct CancelOnDrop(pub(crate) Option<tokio::sync::oneshot::Sender<()>>);

    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            if let Some(stop) = self.0.take() {
                let _ = stop.send(());
            }
        }
    }
}

/// A running simulator.
pub struct Simulator {
    state: Arc<SimState>,
    devices: DeviceSender,
    address: SocketAddr,
    _stop: CancelOnDrop,
}

impl Simulator {
    /// Starts the gateway and the control API on `listener` (bind `127.0.0.1:0` in tests).
    pub async fn start(config: SimConfig, listener: TcpListener) -> Result<Self, SimError> {
        let address = listener
            .local_addr()
            .map_err(|e| SimError::Server(e.to_string()))?;
        let webhook = config.msp_webhook_url.clone();
        let state = Arc::new(SimState::new(config)?);
        if let Ok(mut base) = state.public_base.lock() {
            *base = format!("http://{address}");
        }
        let devices = DeviceSender::new(state.clone(), webhook)?;
        let app = Router::new()
            .merge(gateway::routes().with_state(state.clone()))
            .merge(crate::control::routes().with_state(Control {
                state: state.clone(),
                devices: devices.clone(),
            }));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "simulator server stopped");
            }
        });
        Ok(Self {
            state,
            devices,
            address,
            _stop: CancelOnDrop(Some(stop)),
        })
    }

    /// `http://host:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Apple's API base as an MSP configures it: `http://host:port/v1`.
    pub fn api_base_url(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    /// The shared state (what was received, faults).
    pub fn state(&self) -> &Arc<SimState> {
        &self.state
    }

    /// The customer devices.
    pub fn devices(&self) -> &DeviceSender {
        &self.devices
    }
}
