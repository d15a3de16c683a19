//! One Engine.IO session: its outbound queue, its transport state and its lifetime.
//!
//! The queue is shared by both transports. Whichever transport is active drains it
//! (a long-polling GET, or the WebSocket writer once an upgrade completed), so packets
//! keep their order across an upgrade without being copied from one transport to the
//! other.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use hyper::header::HeaderValue;
use tokio::sync::Notify;

use super::packet::Frame;

/// A session id as handed out in the handshake.
pub type Sid = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Polling,
    WebSocket,
}

impl TransportKind {
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }
}

/// Why a session ended, in the words the Socket.IO client uses for the same events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent a `close` packet or closed its WebSocket.
    TransportClose,
    /// The transport failed: a bad frame, a protocol violation or an I/O error.
    TransportError,
    /// No pong arrived within the ping timeout.
    PingTimeout,
    /// The client could not keep up and its queue overflowed.
    SlowConsumer,
    /// The server closed the session on purpose (the layer above asked for it).
    ServerClose,
    /// The server is shutting down.
    ServerShutdown,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::SlowConsumer => "slow consumer",
            CloseReason::ServerClose => "server close",
            CloseReason::ServerShutdown => "server shutting down",
        }
    }
}

/// A one-shot flag that async code can wait on.
#[derive(Default)]
pub struct Signal {
    raised: AtomicBool,
    notify: Notify,
}

impl Signal {
    pub fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }

    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_raised() {
                return;
            }
            notified.await;
        }
    }
}

struct State {
    queue: VecDeque<Frame>,
    transport: TransportKind,
    upgrading: bool,
    /// The upgrade's probe was answered: polls end at once with a noop so that the
    /// client can pause polling and finish the upgrade.
    probed: bool,
    poll_active: bool,
    post_active: bool,
    close_reason: Option<CloseReason>,
}

/// What a drainer gets from the queue.
pub(super) enum Drained {
    Frames(Vec<Frame>),
    /// An upgrade is completing; the long-poll should end with a noop.
    Released,
    /// The session is over; nothing more will ever be queued.
    Closed,
}

pub struct Session {
    sid: Sid,
    state: Mutex<State>,
    /// Wakes the transport that drains the queue.
    outbound_ready: Notify,
    closed: Signal,
    /// Raised when the session ends because the client stopped reading: a write
    /// stuck on it must be given up rather than waited for.
    abandoned: Signal,
    pong_received: Notify,
    max_queued_frames: usize,
    /// The `Cookie` header of the request that opened the session: the layer above
    /// authenticates its clients by it.
    cookie: Option<HeaderValue>,
}

impl Session {
    pub fn new(sid: Sid, transport: TransportKind, max_queued_frames: usize) -> Session {
        Session {
            sid,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                transport,
                upgrading: false,
                probed: false,
                poll_active: false,
                post_active: false,
                close_reason: None,
            }),
            outbound_ready: Notify::new(),
            closed: Signal::default(),
            abandoned: Signal::default(),
            pong_received: Notify::new(),
            max_queued_frames,
            cookie: None,
        }
    }

    /// The session, remembering the `Cookie` header its opening request carried.
    pub fn with_cookie(mut self, cookie: Option<HeaderValue>) -> Session {
        self.cookie = cookie;
        self
    }

    /// The `Cookie` header of the request that opened the session, if it had one.
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_ref().and_then(|value| value.to_str().ok())
    }

    pub fn sid(&self) -> &str {
        &self.sid
    }

    pub fn transport(&self) -> TransportKind {
        self.lock().transport
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-updated in a way
        // that matters more than losing the session, so poisoning is ignored.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues frames for the client, keeping them together and in order. Returns false
    /// when the session is closed or its queue overflowed (the session is then closed:
    /// a client that cannot keep up is disconnected rather than silently skipped).
    pub fn send_frames(&self, frames: &[Frame]) -> bool {
        let overflowed = {
            let mut state = self.lock();
            if state.close_reason.is_some() {
                return false;
            }
            if state.queue.len() + frames.len() > self.max_queued_frames {
                true
            } else {
                state.queue.extend(frames.iter().cloned());
                false
            }
        };
        if overflowed {
            self.close(CloseReason::SlowConsumer);
            return false;
        }
        self.outbound_ready.notify_one();
        true
    }

    pub fn send(&self, frame: Frame) -> bool {
        self.send_frames(std::slice::from_ref(&frame))
    }

    /// Takes everything queued, waiting until there is something or the session closes.
    pub(super) async fn drain(&self) -> Drained {
        loop {
            let ready = self.outbound_ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            {
                let mut state = self.lock();
                if !state.queue.is_empty() {
                    return Drained::Frames(state.queue.drain(..).collect());
                }
                if state.probed {
                    return Drained::Released;
                }
                if state.close_reason.is_some() {
                    return Drained::Closed;
                }
            }
            tokio::select! {
                _ = &mut ready => {}
                _ = self.closed.wait() => {}
            }
        }
    }

    /// Ends the session. The first reason wins; later calls are no-ops. A `close`
    /// packet is queued so that the client learns the session is over.
    pub fn close(&self, reason: CloseReason) -> bool {
        {
            let mut state = self.lock();
            if state.close_reason.is_some() {
                return false;
            }
            state.close_reason = Some(reason);
            if reason != CloseReason::TransportClose {
                state.queue.push_back(Frame::close());
            }
        }
        // Both mean the client is not reading: a write to it may never finish.
        if matches!(reason, CloseReason::SlowConsumer | CloseReason::PingTimeout) {
            self.abandoned.raise();
        }
        self.closed.raise();
        self.outbound_ready.notify_one();
        true
    }

    pub(super) fn close_reason(&self) -> Option<CloseReason> {
        self.lock().close_reason
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_raised()
    }

    pub(super) async fn wait_abandoned(&self) {
        self.abandoned.wait().await
    }

    pub async fn wait_closed(&self) {
        self.closed.wait().await
    }

    pub(super) fn record_pong(&self) {
        self.pong_received.notify_one();
    }

    /// Waits for the answer to a ping. A pong that arrived since the last call counts.
    pub(super) async fn pong(&self) {
        self.pong_received.notified().await
    }

    /// Marks a long-polling request of the given direction as in flight. Fails when
    /// one is already running or the session is not on polling.
    pub(super) fn begin_request(&self, direction: PollDirection) -> Result<(), RequestConflict> {
        let mut state = self.lock();
        if state.transport != TransportKind::Polling {
            return Err(RequestConflict::NotPolling);
        }
        let flag = match direction {
            PollDirection::Get => &mut state.poll_active,
            PollDirection::Post => &mut state.post_active,
        };
        if *flag {
            return Err(RequestConflict::Concurrent);
        }
        *flag = true;
        Ok(())
    }

    pub(super) fn end_request(&self, direction: PollDirection) {
        let mut state = self.lock();
        match direction {
            PollDirection::Get => state.poll_active = false,
            PollDirection::Post => state.post_active = false,
        }
    }

    /// Starts an upgrade to WebSocket. Only one may run at a time, and only from polling.
    pub(super) fn begin_upgrade(&self) -> bool {
        let mut state = self.lock();
        if state.transport != TransportKind::Polling
            || state.upgrading
            || state.close_reason.is_some()
        {
            return false;
        }
        state.upgrading = true;
        true
    }

    /// Answers the probe: the long-poll that is waiting, and any that comes before the
    /// upgrade completes, ends with a noop (nothing is queued for it, so nothing
    /// stray reaches the WebSocket afterwards).
    pub(super) fn release_poll(&self) {
        self.lock().probed = true;
        self.outbound_ready.notify_one();
    }

    pub(super) fn finish_upgrade(&self, upgraded: bool) {
        {
            let mut state = self.lock();
            state.upgrading = false;
            state.probed = false;
            if upgraded {
                state.transport = TransportKind::WebSocket;
            }
        }
        self.outbound_ready.notify_one();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PollDirection {
    Get,
    Post,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RequestConflict {
    /// The session has moved to WebSocket; polling requests are no longer valid.
    NotPolling,
    /// Another request of the same direction is still running.
    Concurrent,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(limit: usize) -> Session {
        Session::new("sid".into(), TransportKind::Polling, limit)
    }

    #[tokio::test]
    async fn drains_frames_in_order() {
        let session = session(10);
        assert!(session.send(Frame::text_message("a")));
        assert!(session.send_frames(&[Frame::text_message("b"), Frame::ping()]));
        match session.drain().await {
            Drained::Frames(frames) => assert_eq!(
                frames,
                vec![
                    Frame::text_message("a"),
                    Frame::text_message("b"),
                    Frame::ping()
                ]
            ),
            Drained::Closed | Drained::Released => panic!("no frames drained"),
        }
    }

    #[tokio::test]
    async fn overflow_closes_the_session() {
        let session = session(2);
        assert!(session.send(Frame::text_message("a")));
        assert!(!session.send_frames(&[Frame::text_message("b"), Frame::text_message("c")]));
        assert_eq!(session.close_reason(), Some(CloseReason::SlowConsumer));
        assert!(!session.send(Frame::text_message("d")));
    }

    #[tokio::test]
    async fn close_queues_a_close_packet_then_reports_closed() {
        let session = session(10);
        assert!(session.close(CloseReason::ServerClose));
        assert!(!session.close(CloseReason::PingTimeout));
        match session.drain().await {
            Drained::Frames(frames) => assert_eq!(frames, vec![Frame::close()]),
            Drained::Closed | Drained::Released => panic!("close packet missing"),
        }
        assert!(matches!(session.drain().await, Drained::Closed));
    }

    #[test]
    fn a_second_request_in_the_same_direction_conflicts() {
        let session = session(10);
        assert_eq!(session.begin_request(PollDirection::Get), Ok(()));
        assert_eq!(session.begin_request(PollDirection::Post), Ok(()));
        assert_eq!(
            session.begin_request(PollDirection::Get),
            Err(RequestConflict::Concurrent)
        );
        session.end_request(PollDirection::Get);
        assert_eq!(session.begin_request(PollDirection::Get), Ok(()));
    }

    #[tokio::test]
    async fn a_probed_upgrade_releases_polls_without_queueing_anything() {
        let session = session(10);
        assert!(session.begin_upgrade());
        session.release_poll();
        assert!(matches!(session.drain().await, Drained::Released));
        session.finish_upgrade(true);
        assert!(session.send(Frame::text_message("after")));
        match session.drain().await {
            Drained::Frames(frames) => assert_eq!(frames, vec![Frame::text_message("after")]),
            _ => panic!("the WebSocket should get exactly the queued frame"),
        }
    }

    #[test]
    fn polling_requests_fail_after_an_upgrade() {
        let session = session(10);
        assert!(session.begin_upgrade());
        assert!(!session.begin_upgrade());
        session.finish_upgrade(true);
        assert_eq!(session.transport(), TransportKind::WebSocket);
        assert_eq!(
            session.begin_request(PollDirection::Get),
            Err(RequestConflict::NotPolling)
        );
    }
}
