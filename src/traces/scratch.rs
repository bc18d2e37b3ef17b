//! This thread's buffers for encoding a span, reused from one span to the
//! next (the SDK's spans and redline's own server spans).

use std::cell::RefCell;

thread_local! {
    /// A span's body and an event's or link's, reused.
    static SCRATCH: RefCell<(Vec<u8>, Vec<u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Runs `f` with this thread's encoding buffers, cleared (fresh ones if
/// they are in use further up the stack).
pub(crate) fn with_scratch<T>(f: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> T) -> T {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut bufs) => {
            let (body, inner) = &mut *bufs;
            body.clear();
            inner.clear();
            let out = f(body, inner);
            // A rare huge span does not pin its memory in every thread.
            if body.capacity() > 64 * 1024 {
                *body = Vec::new();
            }
            out
        }
        Err(_) => f(&mut Vec::new(), &mut Vec::new()),
    })
}
