fn main() -> std::process::ExitCode {
    raijin::cli::main()
}
