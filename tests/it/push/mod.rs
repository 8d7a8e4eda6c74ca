//! Push notifications end to end, against a real Web Push receiver on
//! loopback (`tests/push/receiver.py`): it holds each device's private key,
//! decrypts every push with the `http_ece` library (RFC 8291) and checks
//! the VAPID JWT with `cryptography` (RFC 8292), independently of our code.
//!
//! `receiver`: that receiver and the tests' helpers; `rules`: who is told
//! what; `crash`: nodes stopped or killed with SIGKILL between a message and
//! its notification; `fcm` and `apns`: the app senders against loopback
//! servers that check what Google's and Apple's documentation says.

mod apns;
mod crash;
mod fcm;
mod receiver;
mod rules;
