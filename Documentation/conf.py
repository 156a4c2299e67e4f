# SPDX-License-Identifier: GPL-2.0
"""Sphinx configuration of vmfault's Documentation (make docs).

The kernel-doc directive is the kernel's own Sphinx extension and script,
from Debian's linux-source-6.1 (devtools/ksft extracts them; devtools/docs
passes their paths in VMFAULT_KERNEL_SPHINX and VMFAULT_KERNEL_DOC).
"""
import os
import sys

from docutils import nodes

top = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.environ['VMFAULT_KERNEL_SPHINX'])

project = 'vmfault'
author = 'The vmfault developers'
copyright = '2026, ' + author
with open(os.path.join(top, 'VERSION'), encoding='utf-8') as f:
    version = release = f.read().strip()

extensions = ['kerneldoc']
kerneldoc_bin = os.environ['VMFAULT_KERNEL_DOC']
kerneldoc_srctree = top

root_doc = 'index'
exclude_patterns = ['generated/*.inc']
html_theme = 'alabaster'
html_title = 'vmfault ' + release
html_show_sourcelink = False
html_copy_source = False


def _rst_links(app, doctree, docname):
    """The guides link each other as file.rst (which GitHub renders);
    in HTML the page is file.html."""
    for ref in doctree.traverse(nodes.reference):
        uri = ref.get('refuri', '')
        if uri.endswith('.rst') and '/' not in uri:
            ref['refuri'] = uri[:-len('.rst')] + '.html'


def setup(app):
    app.connect('doctree-resolved', _rst_links)
