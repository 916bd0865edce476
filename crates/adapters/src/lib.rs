//! usvc's adapters: the systems around the service behind the ports `usvc-core` defines. The
//! bank's gRPC services ([`clients`]: KYC checks, messages to customers, the central audit log),
//! RabbitMQ ([`amqp`]: the outbox's broker and other services' events), Redis ([`redis`]: the
//! replicas' shared counters) and S3 ([`s3`]: documents and avatars). Only the composition root
//! chooses them; the core knows the ports alone.

pub mod amqp;
pub mod clients;
pub mod redis;
pub mod s3;
