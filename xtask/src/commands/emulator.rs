//! `cargo xtask emulator start|stop|status`: the local AWS emulator by hand (commands for `local`
//! start it on demand).

use anyhow::Result;

use crate::cli::{EmulatorAction, EmulatorArgs};
use crate::engine::{Pipeline, RunArgs};
use crate::{context::Context, emulator};

pub fn run(ctx: &Context, args: EmulatorArgs) -> Result<()> {
    match args.action {
        EmulatorAction::Status => {
            println!("emulator: {}", emulator::describe(ctx));
            Ok(())
        }
        EmulatorAction::Stop => {
            match emulator::stop(ctx)? {
                Some(r) => println!("emulator stopped (was pid {} on port {})", r.pid, r.port),
                None => println!("emulator: not running; nothing to stop"),
            }
            Ok(())
        }
        EmulatorAction::Start => {
            let port = ctx.config()?.emulator_port;
            let mut pipeline = Pipeline::new(ctx, "emulator start", "emulator-start");
            pipeline.step(emulator::start_step(ctx, port, |_| {}));
            pipeline.run(&RunArgs::default())?;
            println!("emulator: {}", emulator::describe(ctx));
            Ok(())
        }
    }
}
