"""A police station's jurisdiction (辖区) at a glance: cases, open alerts and publicity per place."""
