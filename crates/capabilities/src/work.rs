//! The unit of work of one component call: its transaction, begun on first use, and the
//! messages that leave only once it commits.

use crate::{
    notify::Notification,
    store::{Connection, Database, Transaction},
};

/// Everything a component call writes, committed together or not at all.
#[derive(Default)]
pub struct UnitOfWork {
    tx: Option<Transaction>,
    /// Messages to send once the transaction has committed.
    pub notifications: Vec<Notification>,
}

impl UnitOfWork {
    /// The call's transaction, begun on first use.
    pub async fn conn(&mut self, db: &Database) -> sqlx::Result<&mut Connection> {
        if self.tx.is_none() {
            self.tx = Some(crate::store::begin(db).await?);
        }
        Ok(self.tx.as_mut().expect("just begun"))
    }

    pub async fn commit(self) -> sqlx::Result<Vec<Notification>> {
        if let Some(tx) = self.tx {
            tx.commit().await?;
        }
        Ok(self.notifications)
    }

    pub async fn rollback(self) {
        if let Some(tx) = self.tx {
            // Dropping the transaction rolls it back too; asking explicitly returns the
            // connection to the pool sooner.
            if let Err(error) = tx.rollback().await {
                tracing::warn!(%error, "rollback failed; the connection is discarded");
            }
        }
    }
}
