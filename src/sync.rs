//! Lock-poison recovery for std's `Mutex` and `RwLock`: one way to take a lock whose previous
//! holder panicked.
//!
//! A lock is poisoned when a thread panics while holding it. kb's locks guard caches and state
//! that every writer leaves whole between statements (a map insert, a swapped value), and a panic
//! is already reported where it happened, so the data is used as it is rather than the panic
//! spreading to every later caller (in `kb serve`, to every request after one failed rebuild).

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// [`Mutex`] access that recovers from poisoning.
pub trait MutexExt<T> {
    /// [`Mutex::lock`], taking the data even if an earlier holder panicked.
    fn lock_or_recover(&self) -> MutexGuard<'_, T>;
    /// [`Mutex::into_inner`], taking the data even if an earlier holder panicked.
    fn into_inner_or_recover(self) -> T;
}

impl<T> MutexExt<T> for Mutex<T> {
    fn lock_or_recover(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn into_inner_or_recover(self) -> T {
        self.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

/// [`RwLock`] access that recovers from poisoning.
pub trait RwLockExt<T> {
    /// [`RwLock::read`], taking the data even if an earlier writer panicked.
    fn read_or_recover(&self) -> RwLockReadGuard<'_, T>;
    /// [`RwLock::write`], taking the data even if an earlier writer panicked.
    fn write_or_recover(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T> RwLockExt<T> for RwLock<T> {
    fn read_or_recover(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_or_recover(&self) -> RwLockWriteGuard<'_, T> {
        self.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` on another thread, where it panics (while holding a guard, poisoning the lock).
    fn panic_in_thread(f: impl FnOnce() + Send) {
        std::thread::scope(|s| assert!(s.spawn(f).join().is_err(), "the thread panicked"));
    }

    #[test]
    fn a_poisoned_mutex_still_gives_its_data() {
        let m = Mutex::new(vec![1]);
        panic_in_thread(|| {
            let mut guard = m.lock_or_recover();
            guard.push(2);
            panic!("poisoning the lock on purpose");
        });
        assert!(m.is_poisoned());
        assert_eq!(*m.lock_or_recover(), [1, 2]);
        m.lock_or_recover().push(3);
        assert_eq!(m.into_inner_or_recover(), [1, 2, 3]);
    }

    #[test]
    fn a_poisoned_rwlock_still_gives_its_data() {
        let l = RwLock::new(String::from("a"));
        panic_in_thread(|| {
            let mut guard = l.write_or_recover();
            guard.push('b');
            panic!("poisoning the lock on purpose");
        });
        assert!(l.is_poisoned());
        assert_eq!(*l.read_or_recover(), "ab");
        l.write_or_recover().push('c');
        assert_eq!(*l.read_or_recover(), "abc");
    }

    #[test]
    fn an_unpoisoned_lock_works_as_usual() {
        let m = Mutex::new(1);
        *m.lock_or_recover() += 1;
        assert_eq!(m.into_inner_or_recover(), 2);
        let l = RwLock::new(1);
        *l.write_or_recover() += 1;
        assert_eq!(*l.read_or_recover(), 2);
    }
}
