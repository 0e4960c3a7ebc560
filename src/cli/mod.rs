//! Subcommands of the `greenline` binary, one file each.

mod backup;
mod demo;
mod import;
mod proof;
mod reindex;
mod serve;
mod user;

use std::process::ExitCode;

use crate::config::{AuditCommand, Cli, Command, ImportCommand, TokenCommand, UserCommand};

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve::run(cli.config).await,
        Command::User(UserCommand::Add(args)) => user::add(cli.config, args).await,
        Command::User(UserCommand::Deactivate { id }) => user::set_active(cli.config, &id, false).await,
        Command::User(UserCommand::Reactivate { id }) => user::set_active(cli.config, &id, true).await,
        Command::Token(TokenCommand::Revoke { id }) => user::revoke(cli.config, &id).await,
        Command::Import(ImportCommand::Users(args)) => import::roster(cli.config, args).await,
        Command::Reindex => reindex::run(cli.config).await,
        Command::Demo => demo::run(cli.config).await,
        Command::Backup { dir } => backup::backup(cli.config, dir).await,
        Command::Restore { dir, force } => backup::restore(cli.config, dir, force).await,
        Command::Import(ImportCommand::Proposals(args)) => {
            import::run(cli.config, crate::import::Kind::Proposals, args).await
        }
        Command::Import(ImportCommand::Techniques(args)) => {
            import::run(cli.config, crate::import::Kind::Techniques, args).await
        }
        Command::Verify { file, key, server } => proof::verify(file, key, server).await,
        Command::Audit(AuditCommand::Verify) => proof::audit(cli.config).await,
        Command::Schema { out } => {
            let sdl = crate::graphql::sdl();
            if out == "-" {
                print!("{sdl}");
            } else {
                std::fs::write(&out, sdl)?;
                eprintln!("wrote {out}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
