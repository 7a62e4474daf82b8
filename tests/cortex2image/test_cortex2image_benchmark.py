"""benchmarks/cortex2image.py runs end to end on a tiny configuration and reports every figure."""

from tests.benchmark_scripts import load_benchmark


def test_tiny_cpu_run_reports_every_throughput(tmp_path):
    bench = load_benchmark("cortex2image")
    out = tmp_path / "c2i.json"
    result = bench.main(["--level", "2", "--channels", "8", "16", "--attention-dim", "16", "--batch-size", "8",
                         "--steps", "1", "--n-images", "2", "--samples", "2", "--json", str(out)])
    keys = ("generator_train_images_per_s", "icgan64_forward_backward_images_per_s", "semantic_train_samples_per_s",
            "detail_train_samples_per_s_latent_regression", "detail_train_samples_per_s_through_fourier_generator",
            "reconstruction_ms_per_image_2_samples_reranked", "reconstruction_ms_per_image_1_sample")
    for key in keys:
        assert result[key] > 0, key
    assert out.is_file()
