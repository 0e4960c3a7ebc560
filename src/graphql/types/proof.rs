//! Proof (存证): an author's signed receipt, a check of one, and the chain's state.

use async_graphql::SimpleObject;

use crate::graphql::types::scalars::Timestamp;

/// An author's receipt for a submission: the signed JSON document to keep, and what it says. 提交回执：签名的JSON文件及其要点。
#[derive(SimpleObject)]
pub struct Receipt {
    /// The signed JSON document (save it as a file; `greenline verify FILE` checks it offline). 已签名的JSON回执（保存为文件，可用 greenline verify 离线验证）。
    pub document: String,
    /// Its place in the event chain. 在事件哈希链上的位置。
    pub position: i64,
    /// The chain's hash at that place. 该位置的链上哈希。
    pub hash: String,
    /// The signing key's id. 签名密钥编号。
    pub key_id: String,
}

/// What the server found when it checked a receipt. 服务器对回执的核验结果。
#[derive(SimpleObject)]
pub struct ReceiptCheck {
    /// True when the signature is this server's and nothing below is wrong. 签名属于本服务器且无任何问题时为真。
    pub valid: bool,
    /// Whether the signature verifies with this server's key. 签名是否可用本服务器公钥验证。
    pub signed: bool,
    /// The key that signed it. 签名密钥编号。
    pub key_id: Option<String>,
    /// The proposal's number. 提案编号（数字）。
    pub proposal_number: Option<i64>,
    /// What does not hold (English / 中文); empty when receipt, chain and stored proposal agree. 不符之处（为空表示回执、哈希链与服务器上的提案一致）。
    pub problems: Vec<String>,
}

/// The event chain: how far it reaches and its last signed checkpoint. 事件哈希链的状态与最新签名检查点。
#[derive(SimpleObject)]
pub struct ChainState {
    /// Events linked so far. 已入链的事件数。
    pub length: i64,
    /// The head's hash. 链头哈希。
    pub head: Option<String>,
    /// The last signed checkpoint's position. 最新签名检查点的位置。
    pub checkpoint_position: Option<i64>,
    /// Its hash. 检查点哈希。
    pub checkpoint_hash: Option<String>,
    /// Its Ed25519 signature (base64) over `greenline.checkpoint/1\n<position>\n<hash>\n<signedAt>`. 检查点的Ed25519签名（base64）。
    pub checkpoint_signature: Option<String>,
    /// When it was signed. 签名时间。
    pub checkpoint_signed_at: Option<Timestamp>,
    /// The server's public key (Ed25519, base64), also at /.well-known/greenline-key. 服务器公钥（亦见 /.well-known/greenline-key）。
    pub public_key: String,
    /// Its id. 公钥编号。
    pub key_id: String,
}
