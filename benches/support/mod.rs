//! Helpers shared by the benchmarks and `examples/callgrind_layer.rs`
//! (included with `#[path]`; not a bench target of its own).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls a future that completes without waiting (the services measured
/// never wait), so no executor cost enters the measurement.
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
