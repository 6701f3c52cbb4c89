//! A semaphore whose size changes at run time (the concurrent jobs, the connections per host):
//! growing lets waiters in at once; shrinking takes free permits away now and the rest as
//! their holders leave, so nothing running is interrupted. Waiters keep their turn (FIFO).

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Gate {
    semaphore: Arc<Semaphore>,
    sizing: Mutex<Sizing>,
}

struct Sizing {
    /// The size in force.
    size: usize,
    /// Permits still held beyond `size` after a shrink: taken back as their holders leave.
    debt: usize,
}

/// One place inside the gate, given back on drop (unless the gate shrank meanwhile).
pub struct Pass {
    permit: Option<OwnedSemaphorePermit>,
    gate: Arc<Gate>,
}

impl Gate {
    pub fn new(size: usize) -> Arc<Self> {
        Arc::new(Self {
            semaphore: Arc::new(Semaphore::new(size)),
            sizing: Mutex::new(Sizing { size, debt: 0 }),
        })
    }

    fn sizing(&self) -> std::sync::MutexGuard<'_, Sizing> {
        self.sizing.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a place; `None` only if the gate was closed (it never is).
    pub async fn enter(self: &Arc<Self>) -> Option<Pass> {
        let permit = self.semaphore.clone().acquire_owned().await.ok()?;
        Some(Pass {
            permit: Some(permit),
            gate: self.clone(),
        })
    }

    pub fn size(&self) -> usize {
        self.sizing().size
    }

    pub fn resize(&self, size: usize) {
        let mut sizing = self.sizing();
        if size >= sizing.size {
            let grow = size - sizing.size;
            let repaid = grow.min(sizing.debt);
            sizing.debt -= repaid;
            self.semaphore.add_permits(grow - repaid);
        } else {
            let cut = sizing.size - size;
            let taken = self.semaphore.forget_permits(cut);
            sizing.debt += cut - taken;
        }
        sizing.size = size;
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut sizing = self.gate.sizing();
        if sizing.debt > 0 {
            sizing.debt -= 1;
            if let Some(permit) = self.permit.take() {
                permit.forget();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn enters(gate: &Arc<Gate>) -> bool {
        tokio::time::timeout(Duration::from_millis(50), gate.enter())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn growing_lets_a_waiter_in_at_once() {
        let gate = Gate::new(1);
        let _first = gate.enter().await.unwrap();
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter().await.is_some() }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        gate.resize(2);
        assert!(tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap());
    }

    #[tokio::test]
    async fn shrinking_keeps_holders_and_takes_their_places_as_they_leave() {
        let gate = Gate::new(3);
        let a = gate.enter().await.unwrap();
        let b = gate.enter().await.unwrap();
        gate.resize(1);
        assert_eq!(gate.size(), 1);
        // Two inside, one allowed: nobody enters until both have left.
        assert!(!enters(&gate).await);
        drop(a);
        assert!(!enters(&gate).await);
        drop(b);
        let c = gate.enter().await.unwrap();
        assert!(!enters(&gate).await, "the size is 1");
        // Growing back while a debt is owed repays it first.
        gate.resize(2);
        assert!(enters(&gate).await);
        drop(c);
    }

    #[tokio::test]
    async fn shrink_then_grow_before_anyone_leaves() {
        let gate = Gate::new(2);
        let a = gate.enter().await.unwrap();
        let b = gate.enter().await.unwrap();
        gate.resize(1);
        gate.resize(3);
        // Size 3, two inside: one more may enter, not two.
        let c = gate.enter().await.unwrap();
        assert!(!enters(&gate).await);
        drop((a, b, c));
        let all: Vec<_> = [gate.enter().await, gate.enter().await, gate.enter().await]
            .into_iter()
            .collect();
        assert!(all.iter().all(Option::is_some));
        assert!(!enters(&gate).await);
    }
}
