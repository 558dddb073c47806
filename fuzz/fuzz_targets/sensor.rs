//! The threaded sensor: the `pipeline` input (see `format`) replayed through
//! `sensor::Sensor` (capture thread, workers, ordered output; HTTP records and payloads on)
//! with one worker and with two. A replay writes byte for byte the same EVE output for any
//! number of threads; a worker that panics fails the run.
#![no_main]

use exhound::sensor::{Destination, OutputOptions, Sensor, SensorConfig};
use exhound_fuzz::{check_line, packets, pipeline_config, rules, Frame};
use libfuzzer_sys::fuzz_target;

/// Collects the EVE lines.
#[derive(Default)]
struct Lines(Vec<Vec<u8>>);

impl Destination for Lines {
    fn line(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.0.push(line.to_vec());
        Ok(())
    }
}

/// Replays the packets through a sensor with `threads` workers; returns its EVE lines.
fn run(config: u8, frames: &[Frame], threads: usize) -> Vec<Vec<u8>> {
    let c = SensorConfig {
        threads,
        pipeline: pipeline_config(config),
        output: OutputOptions {
            log_http: true,
            log_tls: true,
            payload: true,
            pcap_filename: true,
            redact: Some(exhound::output::redact::Redactor::new(Some([1; 32]))),
        },
        queue_batches: 2,
        ..SensorConfig::default()
    };
    let mut sensor = Sensor::start(c, Some(rules()), Lines::default()).expect("start the sensor");
    sensor.file("fuzz.pcap", 1);
    for (i, frame) in frames.iter().enumerate() {
        let pcap_cnt = i as u64 + 1;
        sensor.packet(&frame.raw(pcap_cnt), pcap_cnt);
    }
    let report = sensor
        .finish(true, None)
        .expect("the sensor runs to the end");
    report.destination.0
}

fuzz_target!(|data: &[u8]| {
    let (config, frames) = packets(data);
    let one = run(config, &frames, 1);
    for line in &one {
        check_line(line);
    }
    let two = run(config, &frames, 2);
    if one != two {
        let i = one.iter().zip(&two).take_while(|(a, b)| a == b).count();
        let show = |l: &[Vec<u8>]| l.get(i).map(|l| String::from_utf8_lossy(l).into_owned());
        panic!(
            "1 and 2 workers wrote other records ({} and {}); first difference, record {i}:\n{:?}\n{:?}",
            one.len(),
            two.len(),
            show(&one),
            show(&two)
        );
    }
});
