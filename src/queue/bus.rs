//! The event bus: changes that cached state on every node must hear about (an
//! account changed, a session ended). In one process it is a broadcast channel;
//! with RabbitMQ it is also a fanout exchange, `<prefix>.events`, that every process
//! binds a private queue to, so an event published by one node reaches every node's
//! subscribers within milliseconds. The publishing node delivers to its own
//! subscribers at once, whatever the broker does; a lost event costs only freshness
//! (caches also expire), never correctness of what is stored.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, ExchangeKind};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::errors::error_chain;

/// Something cached elsewhere is out of date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The account (role, ban, profile, password, photo count) changed.
    UserChanged(String),
    /// The session (one login) was revoked.
    SessionRevoked(String),
}

/// Events a subscriber missed because it fell this far behind are dropped (it
/// then clears what it caches; see `Lagged` handling in the subscribers).
const CAPACITY: usize = 4096;

#[derive(Clone)]
pub struct EventBus {
    local: broadcast::Sender<Event>,
    remote: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::local()
    }
}

impl EventBus {
    /// One process: subscribers in this process only.
    pub fn local() -> Self {
        EventBus {
            local: broadcast::channel(CAPACITY).0,
            remote: None,
        }
    }

    /// Every process on the broker at `url`: events go through the fanout exchange
    /// `<prefix>.events`. Connects in the background and again after a lost
    /// connection; until then events reach this process only.
    pub fn rabbitmq(url: &str, prefix: &str) -> Self {
        let bus = Self::local();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(relay(
            url.to_owned(),
            format!("{prefix}.events"),
            rx,
            bus.local.clone(),
            crate::ids::random_id(),
        ));
        EventBus {
            remote: Some(tx),
            ..bus
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.local.subscribe()
    }

    /// Delivers to this process's subscribers now and to the other nodes through
    /// the broker.
    pub fn publish(&self, event: Event) {
        let _ = self.local.send(event.clone());
        if let Some(remote) = &self.remote {
            let _ = remote.send(event);
        }
    }
}

/// An event on the wire, with the node that published it: a node has already
/// delivered its own events and skips their echo from the exchange.
#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: String,
    event: Event,
}

/// Keeps one broker connection: publishes what `outgoing` yields and forwards what
/// other nodes publish to `local`, reconnecting 1 s, 2 s ... 30 s apart.
async fn relay(
    url: String,
    exchange: String,
    mut outgoing: tokio::sync::mpsc::UnboundedReceiver<Event>,
    local: broadcast::Sender<Event>,
    node: String,
) {
    let mut delay = Duration::from_secs(1);
    loop {
        match relay_once(&url, &exchange, &mut outgoing, &local, &node).await {
            Ok(true) => return, // nothing will publish any more: the process is stopping
            Ok(false) => tracing::warn!("event bus consumer ended; reconnecting"),
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "event bus lost the broker; reconnecting");
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

async fn relay_once(
    url: &str,
    exchange: &str,
    outgoing: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    local: &broadcast::Sender<Event>,
    node: &str,
) -> Result<bool, lapin::Error> {
    let connection = super::rabbitmq::connect(url).await?;
    let channel = connection.create_channel().await?;
    channel
        .exchange_declare(
            exchange,
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    // A private queue per process: gone when the connection is.
    let queue = channel
        .queue_declare(
            "",
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            queue.name().as_str(),
            exchange,
            "",
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut incoming = channel
        .basic_consume(
            queue.name().as_str(),
            "",
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(exchange, "event bus connected");
    loop {
        tokio::select! {
            event = outgoing.recv() => {
                let Some(event) = event else { return Ok(true) };
                let envelope = Envelope { origin: node.to_owned(), event };
                let body = serde_json::to_vec(&envelope).unwrap_or_default();
                channel
                    .basic_publish(exchange, "", BasicPublishOptions::default(), &body, BasicProperties::default())
                    .await?;
            }
            delivery = incoming.next() => {
                // The consumer ended: the channel is gone; connect again.
                let Some(delivery) = delivery else { return Ok(false) };
                let delivery = delivery?;
                match serde_json::from_slice::<Envelope>(&delivery.data) {
                    Ok(e) if e.origin == node => {} // delivered when it was published
                    Ok(e) => { let _ = local.send(e.event); }
                    Err(e) => tracing::warn!(error = %e, "event bus: unreadable event dropped"),
                }
                delivery.ack(BasicAckOptions::default()).await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_subscribers_get_every_event_in_order() {
        let bus = EventBus::local();
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        bus.publish(Event::UserChanged("u1".into()));
        bus.publish(Event::SessionRevoked("s1".into()));
        for rx in [&mut a, &mut b] {
            assert_eq!(rx.recv().await.unwrap(), Event::UserChanged("u1".into()));
            assert_eq!(rx.recv().await.unwrap(), Event::SessionRevoked("s1".into()));
        }
        let json = serde_json::to_string(&Event::UserChanged("u".into())).unwrap();
        assert_eq!(json, r#"{"user_changed":"u"}"#);
    }
}
