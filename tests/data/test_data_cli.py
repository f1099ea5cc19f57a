"""`stad synth`, `stad convert`, `stad extract-frames` end to end (in process)."""
import json
import os

from stad.cli import main
from stad.io.layout import DataLayout


def test_synth_convert_extract(tmp_path, capsys):
    root = str(tmp_path / 'ds')
    layout = DataLayout(root)
    assert main(['synth', '--out', root, '--videos', '2', '--frames', '12',
                 '--size', '64x48', '--max-people', '1']) == 0
    assert os.path.isfile(layout.gt_file)
    assert main(['convert', '--data-root', root]) == 0
    with open(layout.coco('train')) as f:
        assert json.load(f)['categories'] == [{'id': 0, 'name': 'person'}]
    assert open(layout.label_map).read().startswith('0: jumping jack\n')
    assert main(['extract-frames', '--data-root', root, '--workers', '1']) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        '24 frames written, 0 of 2 videos already complete'
    # the old spelling still works, with one deprecation line
    assert main(['extract-frames', '--root', root, '--workers', '1']) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[-1] == '0 frames written, 2 of 2 videos already complete'
    assert 'stad extract-frames: --root is deprecated, use --data-root' in out.err.splitlines()


def test_bad_size_is_a_one_line_error(tmp_path, capsys):
    assert main(['synth', '--out', str(tmp_path), '--size', '64by48']) == 2
    assert "stad synth: error: --size: expected WxH like 320x240, got '64by48'" in \
        capsys.readouterr().err
