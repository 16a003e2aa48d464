//! Integration tests: the real app over HTTP, with the HubEx simulator.

mod admin;
mod catalog;
mod cli;
mod contract;
mod conversation;
mod corpus;
mod crash;
mod delivery;
mod edge;
mod engines;
mod hardening;
mod helpers;
mod hubex;
mod instances;
mod intake;
mod json_api;
mod labels;
mod limits;
mod logs;
mod mail;
mod metrics;
mod photos;
mod qr;
mod settings;
mod tokens;
mod webhooks;
