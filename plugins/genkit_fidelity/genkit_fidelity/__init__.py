"""genkit-fidelity: sample quality in Inception-v3 features, as published FIDs are computed.

``genkit fid A B`` compares two sets of images (folders made by any tool, or a dataset's
test split) with torch-fidelity's ``inception-v3-compat`` extractor and metric functions.

This is the plugin's hook module: it imports only ``genkit``; torch and torch-fidelity load
when a command runs.
"""

import genkit

GENKIT_HOOKS = 1


@genkit.hookimpl
def register_commands(cli):
    from .cli import fid

    cli.command("fid")(fid)
