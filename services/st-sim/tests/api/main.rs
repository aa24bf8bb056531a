//! The ServiceTitan client against st-sim over real HTTP, and st-sim's own fidelity.

mod booking;
mod client;
mod helpers;
mod openapi;
mod sim;
