//! Registered TPPs and their QSealCs (the portal's "API Register").

use sqlx::Row;

use crate::{Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TppRecord {
    /// The organizationIdentifier of the TPP's certificates.
    pub client_id: String,
    pub name: String,
    pub contacts: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub registered_at: i64,
    pub updated_at: i64,
    /// The PSD2 roles of the TPP's certificate (`PSP_AI`, `PSP_PI`, `PSP_IC`, …), as named in
    /// its QC statement; `None` for a TPP registered before roles were recorded.
    pub roles: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QsealRecord {
    pub sha256: String,
    pub sha1: String,
    pub serial: String,
    pub issuer: String,
    pub not_after: i64,
    pub pem: String,
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Store {
    /// Creates or updates a TPP and adds its QSealCs, in one transaction; answers whether it
    /// was new. QSealCs registered before are kept.
    pub async fn register_tpp(&self, tpp: &TppRecord, qseals: &[QsealRecord]) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let existing: Option<(String,)> =
            sqlx::query_as("SELECT client_id FROM tpps WHERE client_id = $1")
                .bind(tpp.client_id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO tpps (client_id, name, contacts, redirect_uris, registered_at, updated_at, roles) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, contacts = excluded.contacts, \
             redirect_uris = excluded.redirect_uris, updated_at = excluded.updated_at, roles = excluded.roles",
        )
        .bind(tpp.client_id.as_str())
        .bind(tpp.name.as_str())
        .bind(tpp.contacts.join("\n"))
        .bind(tpp.redirect_uris.join("\n"))
        .bind(tpp.registered_at)
        .bind(tpp.updated_at)
        .bind(tpp.roles.as_ref().map(|roles| roles.join(" ")))
        .execute(&mut *tx)
        .await?;
        for qseal in qseals {
            sqlx::query(
                "INSERT INTO tpp_qseals (client_id, sha256, sha1, serial, issuer, not_after, pem) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (client_id, sha256) DO NOTHING",
            )
            .bind(tpp.client_id.as_str())
            .bind(qseal.sha256.as_str())
            .bind(qseal.sha1.as_str())
            .bind(qseal.serial.as_str())
            .bind(qseal.issuer.as_str())
            .bind(qseal.not_after)
            .bind(qseal.pem.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.qseal_cache.forget(tpp.client_id.as_str());
        Ok(existing.is_none())
    }

    pub async fn tpp(&self, client_id: &str) -> Result<Option<TppRecord>> {
        let row = sqlx::query(
            "SELECT client_id, name, contacts, redirect_uris, registered_at, updated_at, roles FROM tpps WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let contacts: String = row.try_get("contacts")?;
            let uris: String = row.try_get("redirect_uris")?;
            let roles: Option<String> = row.try_get("roles")?;
            Ok(TppRecord {
                client_id: row.try_get("client_id")?,
                name: row.try_get("name")?,
                contacts: lines(&contacts),
                redirect_uris: lines(&uris),
                registered_at: row.try_get("registered_at")?,
                updated_at: row.try_get("updated_at")?,
                roles: roles.as_deref().map(crate::tokens::split_scopes),
            })
        })
        .transpose()
    }

    /// Adds one QSealC to a TPP (no check: callers check the organisation).
    pub async fn add_qseal(&self, client_id: &str, qseal: &QsealRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO tpp_qseals (client_id, sha256, sha1, serial, issuer, not_after, pem) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (client_id, sha256) DO NOTHING",
        )
        .bind(client_id)
        .bind(qseal.sha256.as_str())
        .bind(qseal.sha1.as_str())
        .bind(qseal.serial.as_str())
        .bind(qseal.issuer.as_str())
        .bind(qseal.not_after)
        .bind(qseal.pem.as_str())
        .execute(&self.pool)
        .await?;
        self.qseal_cache.forget(client_id);
        Ok(())
    }

    /// The QSealCs a TPP registered, read now ([`Store::registered_qseals`] keeps them).
    pub async fn qseals(&self, client_id: &str) -> Result<Vec<QsealRecord>> {
        let sql = "SELECT sha256, sha1, serial, issuer, not_after, pem FROM tpp_qseals \
             WHERE client_id = $1 ORDER BY sha256";
        self.read_rows(sql, &[client_id.into()], |row| {
            Ok(QsealRecord {
                sha256: row.text("sha256")?,
                sha1: row.text("sha1")?,
                serial: row.text("serial")?,
                issuer: row.text("issuer")?,
                not_after: row.int("not_after")?,
                pem: row.text("pem")?,
            })
        })
        .await
    }

    /// Removes one QSealC of a TPP; answers whether it was there.
    pub async fn remove_qseal(&self, client_id: &str, sha256: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM tpp_qseals WHERE client_id = $1 AND sha256 = $2")
            .bind(client_id)
            .bind(sha256)
            .execute(&self.pool)
            .await?;
        self.qseal_cache.forget(client_id);
        Ok(done.rows_affected() > 0)
    }
}
