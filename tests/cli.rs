//! The command line people expect: examples in every subcommand's help, completion
//! scripts that a shell accepts and that complete.

use std::process::Command;

fn scalesim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(args)
        .output()
        .expect("run scalesim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_subcommand_help_shows_examples() {
    for sub in [
        "run",
        "compare",
        "merge",
        "check",
        "plan",
        "plot",
        "validate",
        "completions",
    ] {
        let (code, out, _) = scalesim(&[sub, "--help"]);
        assert_eq!(code, 0, "{sub} --help");
        assert!(
            out.contains("Example"),
            "{sub} --help has no examples:\n{out}"
        );
        assert!(out.contains(&format!("scalesim {sub}")), "{sub}: {out}");
    }
    // Positional arguments say what they are.
    let (_, out, _) = scalesim(&["compare", "--help"]);
    assert!(out.contains("The first result folder"), "{out}");
}

#[test]
fn the_bash_completion_script_loads_and_completes_subcommands_and_flags() {
    let (code, script, err) = scalesim(&["completions", "bash"]);
    assert_eq!(code, 0, "{err}");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("scalesim.bash");
    std::fs::write(&file, script).unwrap();
    // Complete `scalesim ru` and `scalesim run --re` as bash would.
    let probe = format!(
        r#"source {f}
complete -p scalesim
COMP_WORDS=(scalesim ru); COMP_CWORD=1; _scalesim scalesim ru scalesim; echo "1: ${{COMPREPLY[*]}}"
COMP_WORDS=(scalesim run --re); COMP_CWORD=2; _scalesim scalesim --re run; echo "2: ${{COMPREPLY[*]}}""#,
        f = file.display()
    );
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("-F _scalesim scalesim"), "{stdout}");
    assert!(stdout.contains("1: run"), "{stdout}");
    let second = stdout.lines().find(|l| l.starts_with("2:")).unwrap();
    assert!(
        second.contains("--replications") && second.contains("--resume"),
        "{stdout}"
    );
    for shell in ["zsh", "fish"] {
        let (code, script, _) = scalesim(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(script.contains("scalesim"), "{shell}");
    }
    let (code, _, err) = scalesim(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bash"),
        "an unknown shell lists the known ones: {err}"
    );
}

#[test]
fn an_unknown_metric_to_compare_lists_the_names_both_folders_share() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-compare");
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.display().to_string();
    let (code, _, err) = scalesim(&[
        "run",
        "experiments/textbook/mmc.ron",
        "--quiet",
        "--replications",
        "2",
        "--out",
        &out,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = scalesim(&["compare", &out, &out, "--metric", "p99"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `latency_p99_s`"), "{err}");
    assert!(err.contains("`throughput_rps`"), "{err}");
}
