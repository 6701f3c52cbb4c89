/// Who can reach this server, for the page's banner and log-out button.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessStatus {
    /// Listening on a non-loopback address without `MODELS_AUTH_TOKEN`: anyone who can reach
    /// the port can manage the models.
    pub open_to_network: bool,
    /// Access control is on: browsers log in, so the page offers a log-out.
    pub login: bool,
}
