"""The QgisInterface side: plugin class, menu, toolbar, dock widget."""
