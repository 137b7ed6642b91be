"""提案助手: cited answers over CPPCC proposals and department replies."""

__version__ = "0.1.0"
